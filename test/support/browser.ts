/**
 * Debian's Chromium driven by playwright-core (which downloads no browser):
 * one headless browser per test file, a fresh context (cookie jar) per user.
 * playwright gives each launch a fresh temporary profile (--user-data-dir)
 * and removes it at close.
 */
import { chromium, type Browser, type BrowserContext, type Locator, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

export interface TestBrowser {
  browser: Browser;
  /**
   * A new context (its own cookies) with a page, optionally at a phone's size, in a colour scheme, or
   * (for tools the tests inject, such as axe-core) with the page's Content-Security-Policy bypassed.
   */
  page(opts?: { phone?: boolean; colorScheme?: 'light' | 'dark'; bypassCSP?: boolean }): Promise<{ context: BrowserContext; page: Page }>;
  close(): Promise<void>;
}

/** Launches Chromium with a fresh, temporary profile directory. */
export async function launchBrowser(): Promise<TestBrowser> {
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS, timeout: 30_000 });
  return {
    browser,
    async page(opts = {}) {
      const context = await browser.newContext({
        ...(opts.phone ? { viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true } : { viewport: { width: 1280, height: 800 } }),
        ...(opts.colorScheme ? { colorScheme: opts.colorScheme } : {}),
        ...(opts.bypassCSP ? { bypassCSP: true } : {}),
      });
      return { context, page: await context.newPage() };
    },
    async close() {
      await browser.close();
    },
  };
}

/** Signs in through the console's form, as a person would. */
export async function signInWithKey(page: Page, url: string, key: string): Promise<void> {
  await page.goto(`${url}/login`);
  await page.getByLabel('Your API key').fill(key);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${url}/`);
}

/**
 * Clicks an element marked data-deliberate (Approve, the CLI sign-in's Continue) as a reader does: the pointer moves
 * over the page, a moment passes, then the click. console.js takes no click that lands as the page appears.
 */
export async function clickAsReader(page: Page, target: Locator): Promise<void> {
  await target.hover();
  await target.hover({ position: { x: 3, y: 3 } });
  await target.and(page.locator('[data-deliberate="armed"]')).waitFor({ timeout: 10_000 });
  await target.click();
}
