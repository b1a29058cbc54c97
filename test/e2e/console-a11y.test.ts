/**
 * The console meets WCAG 2.2 AA for every reviewer, checked in Chromium:
 * axe-core (tags wcag2a, wcag2aa, wcag21a, wcag21aa, wcag22aa) finds no
 * violation on any page type — sign-in, inbox, a pending and a decided
 * request, one that needs a passkey, passkeys (one's own and, for an admin, another human's), activity, audit, policy (with a simulation), coverage, shadow and
 * the error pages — in the light and the dark colour scheme (where each page
 * is first shown to change nothing but colours, so the rules that read colours
 * are the ones run again), with realistic content (long ids, a wide rules
 * table, an audit page full of events).
 * The keyboard-only check is in console-keyboard.test.ts.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COLOUR_RULES, SCHEME_CHANGES_MORE_THAN_COLOURS, startAxe, type Axe } from '../support/axe.ts';
import { CHROMIUM, launchBrowser, signInWithKey, type TestBrowser } from '../support/browser.ts';
import { configYaml, DEFAULT_PRINCIPALS, eventually, startTestGateway, type TestGateway, type TestPrincipal } from '../support/gateway.ts';
import { storeYaml } from '../support/test-store.ts';
import { startUpstream, type Upstream } from '../support/upstream.ts';

const haveChromium = existsSync(CHROMIUM);

const LONG_RULE = 'refunds_over_the_weekly_threshold.need_two_finance_approvers';

const LIVE = (url: string) => `connections:
  - name: billing-api
    kind: http
    url: ${url}
    tags: { env: prod, data: pii, compliance: [soc2, gdpr] }
  - name: orders-db
    kind: postgres
    url: postgres://nobody@127.0.0.1:1/orders
    tags: { env: prod }
  - name: echo
    kind: exec
    command: /bin/echo
policy:
  default: deny
  candidate: CANDIDATE_PATH
  rules:
    - id: ${LONG_RULE}
      when: action.connection == "billing-api" && facts.http.method == "POST" && facts.http.path.startsWith("/refunds") && size(facts.http.path) > 0 && !facts.http.path.startsWith("/refunds/internal/reconciliation/batch")
      effect: approve
      approvers: [{ groups: [sre], count: 1 }]
      ttl: 1h
      message: Refunds move money out of the company; a second pair of eyes on every one of them, please.
      grant: { maxUses: 5, maxDuration: 1h, vary: [body.amount] }
    - id: prod-sql-writes
      when: action.connection == "orders-db" && facts.writes
      effect: approve
      approvers: [{ groups: [sre], count: 1 }]
      ttl: 30m
    - id: payouts
      when: action.connection == "billing-api" && facts.http.method == "POST" && facts.http.path.startsWith("/payouts")
      effect: approve
      approvers: [{ groups: [sre], count: 1 }]
      stepUp: webauthn
      breakGlass: { groups: [sre] }
    - id: reads
      when: facts.http.method == "GET"
      effect: allow
    - id: echo
      when: connection.kind == "exec"
      effect: allow
`;

const CANDIDATE = `default: deny
rules:
  - id: reads
    when: facts.http.method == "GET" && !facts.http.path.startsWith("/admin")
    effect: allow
  - id: refunds-two
    when: facts.http.method == "POST" && facts.http.path.startsWith("/refunds")
    effect: approve
    approvers: [{ groups: [sre], count: 2 }]
`;

// An administrator too: the Passkeys page then has its field for another human's passkeys, and that view is checked.
const PRINCIPALS: TestPrincipal[] = DEFAULT_PRINCIPALS.map((p) => (p.id === 'alice' ? { ...p, roles: ['auditor', 'admin'] } : p));

let upstream: Upstream;
let gw: TestGateway;
let browser: TestBrowser;
let axe: Axe;
let dir: string;
const ids: Record<string, string> = {};

async function submit(input: unknown, reason: string, connection = 'billing-api'): Promise<{ status: number; id: string }> {
  const res = await gw.as('deploy-bot', '/v1/actions', { body: { connection, input, reason } });
  return { status: res.status, id: (res.body.id ?? res.body.request?.id) as string };
}

beforeAll(async () => {
  if (!haveChromium) return;
  upstream = await startUpstream((call) => ({ status: 201, body: { refund: 're_1', path: call.url } }));
  dir = mkdtempSync(join(tmpdir(), 'cs-a11y-'));
  writeFileSync(join(dir, 'candidate.yaml'), CANDIDATE);
  const keys: Record<string, string> = {};
  const yaml = (await storeYaml(configYaml(PRINCIPALS, keys, LIVE(upstream.url), join(dir, 'countersign.db')))).replace('CANDIDATE_PATH', JSON.stringify(join(dir, 'candidate.yaml')));
  gw = await startTestGateway(yaml, { dir, keys });
  browser = await launchBrowser();
  axe = await startAxe();

  // Decided ones: approved and run, denied, and a read the policy allowed outright.
  const approved = await submit({ method: 'POST', path: '/refunds', body: { invoice: 'inv_1', amount: 4900 } }, 'Duplicate charge on inv_1.');
  expect((await gw.as('bob', `/v1/requests/${approved.id}/reviews`, { body: { verdict: 'approve', comment: 'Checked the dashboard.', grant: { uses: 2, for: '30m' } } })).status).toBe(200);
  ids['approved'] = approved.id;
  const denied = await submit({ sql: "delete from orders where created_at < now() - interval '1 day'" }, 'Clean-up.', 'orders-db');
  expect((await gw.as('bob', `/v1/requests/${denied.id}/reviews`, { body: { verdict: 'deny', comment: 'No bulk deletes.' } })).status).toBe(200);
  ids['denied'] = denied.id;
  expect((await submit({ method: 'GET', path: '/invoices/inv_1' }, 'Look up the invoice.')).status).toBe(200);
  expect((await submit({ args: ['hello', 'world'] }, 'Say hello.', 'echo')).status).toBe(200);
  // Pending ones, one with a very long path.
  const long = await submit(
    { method: 'POST', path: `/refunds/${'customer_7b3e9f0a-2c41-4d6e-9a8b-1f2e3d4c5b6a/'.repeat(4)}invoices/inv_0001042/lines/0003`, body: { amount: 4900, currency: 'EUR' } },
    'Customer was charged twice for invoice inv_1042 (ticket #8812); refunding the duplicate charge.',
  );
  ids['pending'] = long.id;
  await submit({ sql: "update orders set status = 'void' where id = $1 and status = 'open'", params: [7] }, 'Order 7 was created by a load test.', 'orders-db');
  await submit({ method: 'POST', path: '/refunds', body: { invoice: 'inv_2' } }, 'Another refund.');
  ids['step-up'] = (await submit({ method: 'POST', path: '/payouts', body: { amount: 100 } }, 'A payout that needs a passkey.')).id;
  await eventually(async () => ((await gw.as('alice', `/v1/requests/${approved.id}`)).body.status === 'succeeded' ? true : undefined));
});

afterAll(async () => {
  await browser?.close();
  await axe?.close();
  await gw?.stop();
  await upstream?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** The innermost elements that reach past the right edge of the page, for the failure message. */
const WIDER_THAN_PAGE = `[...document.querySelectorAll('main *')]
  .filter((el) => el.getBoundingClientRect().right > document.documentElement.clientWidth && ![...el.children].some((c) => c.getBoundingClientRect().right > document.documentElement.clientWidth))
  .slice(0, 5).map((el) => el.tagName.toLowerCase() + (el.className ? '.' + el.className : '') + ' "' + (el.textContent || '').slice(0, 40) + '"').join('; ')`;

/**
 * The focus ring of the focused element: its colour, width and the colour of what lies around it (the nearest
 * background that is not transparent, outside the element since the ring is drawn 2px out; inside for an element
 * whose ring is drawn inwards).
 */
const FOCUS_RING = `(() => {
  const el = document.activeElement;
  const style = getComputedStyle(el);
  const inside = parseFloat(style.outlineOffset) < 0;
  let bg = 'rgba(0, 0, 0, 0)';
  for (let n = inside ? el : el.parentElement; n && /rgba\\(0, 0, 0, 0\\)|transparent/.test(bg); n = n.parentElement) bg = getComputedStyle(n).backgroundColor;
  return { tag: el.tagName + (el.className ? '.' + el.className : ''), ring: style.outlineColor, style: style.outlineStyle, width: parseFloat(style.outlineWidth), around: bg };
})()`;

function luminance(rgb: string): number {
  const [r, g, b] = (rgb.match(/\d+(\.\d+)?/g) ?? []).slice(0, 3).map((v) => Number(v) / 255).map((c) => (c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4));
  return 0.2126 * r! + 0.7152 * g! + 0.0722 * b!;
}

/** WCAG contrast ratio of two CSS rgb() colours. */
function contrast(a: string, b: string): number {
  const [hi, lo] = [luminance(a), luminance(b)].sort((x, y) => y - x);
  return (hi! + 0.05) / (lo! + 0.05);
}

/** Tabs through the page; each focus ring that is under 2px, not solid, or under 3:1 against its surroundings. */
async function weakFocusRings(page: Page, stops: number): Promise<string[]> {
  const weak: string[] = [];
  const checked: string[] = [];
  await page.locator('body').focus();
  for (let i = 0; i < stops; i++) {
    await page.keyboard.press('Tab');
    const f = (await page.evaluate(FOCUS_RING)) as { tag: string; ring: string; style: string; width: number; around: string };
    if (f.tag === 'BODY') break; // past the last tab stop
    checked.push(f.tag);
    const ratio = contrast(f.ring, f.around);
    if (f.style !== 'solid' || f.width < 2 || ratio < 3) weak.push(`${f.tag}: ${f.style} ${f.width}px ${f.ring} on ${f.around} (${ratio.toFixed(2)}:1)`);
  }
  if (checked.length < 10) weak.push(`only ${checked.length} tab stops: ${checked.join(', ')}`);
  return weak;
}

/** Every page type, reached as a reviewer would reach it. */
const PAGES: readonly { name: string; open: (page: Page) => Promise<void> }[] = [
  { name: 'inbox', open: async (p) => void (await p.goto(`${gw.url}/`)) },
  { name: 'pending request', open: async (p) => void (await p.goto(`${gw.url}/requests/${ids['pending']}`)) },
  { name: 'approved request', open: async (p) => void (await p.goto(`${gw.url}/requests/${ids['approved']}`)) },
  { name: 'denied request', open: async (p) => void (await p.goto(`${gw.url}/requests/${ids['denied']}`)) },
  {
    name: 'step-up request',
    open: async (p) => {
      await p.goto(`${gw.url}/requests/${ids['step-up']}`);
      // Its break-glass form asks for a passkey too.
      await p.locator('#break-glass-step-up').waitFor();
    },
  },
  { name: 'passkeys', open: async (p) => void (await p.goto(`${gw.url}/account/passkeys`)) },
  { name: 'passkeys of another human', open: async (p) => void (await p.goto(`${gw.url}/account/passkeys?human=bob`)) },
  { name: 'activity', open: async (p) => void (await p.goto(`${gw.url}/activity`)) },
  { name: 'grants', open: async (p) => void (await p.goto(`${gw.url}/grants`)) },
  { name: 'audit', open: async (p) => void (await p.goto(`${gw.url}/audit`)) },
  { name: 'policy', open: async (p) => void (await p.goto(`${gw.url}/policy`)) },
  {
    name: 'policy simulation',
    open: async (p) => {
      await p.goto(`${gw.url}/policy`);
      await p.getByLabel('Principal').selectOption('deploy-bot');
      await p.getByRole('button', { name: 'Simulate' }).click();
      await p.locator('#simulation').waitFor();
    },
  },
  { name: 'coverage', open: async (p) => void (await p.goto(`${gw.url}/coverage`)) },
  { name: 'shadow', open: async (p) => void (await p.goto(`${gw.url}/shadow`)) },
  { name: 'not found', open: async (p) => void (await p.goto(`${gw.url}/requests/req_does_not_exist`)) },
];

const SCHEMES = ['light', 'dark'] as const;
/** What the page is rendered as: whether it matches the dark scheme, and the colour its body is painted. */
const RENDERED_SCHEME = `({ dark: matchMedia('(prefers-color-scheme: dark)').matches, background: getComputedStyle(document.body).backgroundColor })`;

describe.skipIf(!haveChromium)('every console page passes axe-core (WCAG 2.2 AA)', () => {
  // One page load per page type: the scheme is switched in place (emulateMedia, as the context option
  // colorScheme sets it) and the width by the viewport (the console lays out by CSS alone), axe injected once.
  it('in the light and the dark colour scheme', { timeout: 300_000 }, async () => {
    const found: string[] = [];
    const painted: string[] = [];
    /**
     * axe in each scheme on the page as loaded; each scheme's rendering is checked to be the one asked for. Every rule
     * runs in the light scheme; in the dark one, which changes nothing but colours on this page (checked here), the
     * rules that read colours: the others would read the same DOM, text and layout again.
     */
    const inEachScheme = async (page: Page, what: string) => {
      const backgrounds: string[] = [];
      found.push(...((await page.evaluate(SCHEME_CHANGES_MORE_THAN_COLOURS)) as string[]).map((v) => `${what}: the colour scheme changes more than colours: ${v}`));
      for (const colorScheme of SCHEMES) {
        await page.emulateMedia({ colorScheme });
        const r = (await page.evaluate(RENDERED_SCHEME)) as { dark: boolean; background: string };
        if (r.dark !== (colorScheme === 'dark')) painted.push(`${what}: asked for ${colorScheme}, rendered ${r.dark ? 'dark' : 'light'}`);
        backgrounds.push(r.background);
        found.push(...(await axe.run(page, colorScheme === 'dark' ? COLOUR_RULES : undefined)).map((v) => `${what} (${colorScheme}): ${v}`));
      }
      if (backgrounds[0] === backgrounds[1]) painted.push(`${what}: the same background ${backgrounds[0]} in both schemes`);
    };
    const { context, page } = await browser.page({ bypassCSP: true });
    try {
      await page.goto(`${gw.url}/login`);
      await inEachScheme(page, 'sign-in');
      await page.getByLabel('Your API key').fill('not-a-key');
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.locator('#signin-error').waitFor();
      await inEachScheme(page, 'sign-in refused');
      await signInWithKey(page, gw.url, gw.keys['alice']!);
      for (const p of PAGES) {
        await page.setViewportSize({ width: 1280, height: 800 });
        await p.open(page);
        await inEachScheme(page, p.name);
        // The same page 320 CSS pixels wide (WCAG 1.4.10 reflow): only the wide tables scroll, in their own regions.
        // The narrow layout is one for both schemes, so axe runs on it once (light); colours are checked at full width in each.
        await page.setViewportSize({ width: 320, height: 720 });
        for (const colorScheme of SCHEMES) {
          await page.emulateMedia({ colorScheme });
          if (colorScheme === 'light') found.push(...(await axe.run(page)).map((v) => `${p.name} (320px): ${v}`));
          const overflow = (await page.evaluate('document.documentElement.scrollWidth - document.documentElement.clientWidth')) as number;
          if (overflow > 0) found.push(`${p.name} (320px, ${colorScheme}): the page scrolls sideways by ${overflow}px, past it: ${await page.evaluate(WIDER_THAN_PAGE)}`);
        }
      }
      // The focus ring stands out (WCAG 1.4.11, 3:1) on the links, buttons, fields and table regions of a page.
      await page.setViewportSize({ width: 1280, height: 800 });
      for (const path of [`/requests/${ids['pending']}`, '/policy']) {
        await page.goto(`${gw.url}${path}`);
        for (const colorScheme of SCHEMES) {
          await page.emulateMedia({ colorScheme });
          found.push(...(await weakFocusRings(page, 25)).map((v) => `${path} focus ring (${colorScheme}): ${v}`));
        }
      }
    } finally {
      await context.close();
    }
    // A human without the auditor role gets the refusal page.
    const dave = await browser.page({ bypassCSP: true });
    try {
      await signInWithKey(dave.page, gw.url, gw.keys['dave']!);
      const res = await dave.page.goto(`${gw.url}/audit`);
      expect(res?.status()).toBe(403);
      await inEachScheme(dave.page, 'role refused');
    } finally {
      await dave.context.close();
    }
    expect(painted).toEqual([]);
    expect(found).toEqual([]);
  });
});

/** Where each identifier wraps: the text before each line break, if that text does not end at a dot, underscore, slash, colon or hyphen. */
const MID_WORD_BREAKS = `(() => {
  const bad = [];
  for (const el of document.querySelectorAll('code.ident')) {
    let prev = null, before = '';
    const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT);
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      for (let i = 0; i < n.data.length; i++) {
        const range = document.createRange();
        range.setStart(n, i);
        range.setEnd(n, i + 1);
        const rect = range.getClientRects()[0];
        if (rect && prev !== null && rect.top > prev + 1 && !/[._\\/:-]$/.test(before)) bad.push(el.textContent + ' breaks after ' + before);
        if (rect) prev = rect.top;
        before += n.data[i];
      }
    }
  }
  return bad;
})()`;

describe.skipIf(!haveChromium)('identifiers in narrow columns', () => {
  it('wrap rule ids and audit event types only after a dot or an underscore, never mid-word', async () => {
    const { context, page } = await browser.page();
    try {
      await signInWithKey(page, gw.url, gw.keys['alice']!);
      await page.setViewportSize({ width: 320, height: 720 });
      for (const path of ['/policy', '/audit', `/requests/${ids['pending']}`]) {
        await page.goto(`${gw.url}${path}`);
        expect(await page.locator('code.ident').count()).toBeGreaterThan(0);
        expect(await page.evaluate(MID_WORD_BREAKS), path).toEqual([]);
      }
      // The long rule id does wrap in the policy table, at its dot or underscores.
      const rule = page.locator('code.ident', { hasText: LONG_RULE }).first();
      await page.goto(`${gw.url}/policy`);
      expect((await rule.boundingBox())!.height).toBeGreaterThan(30);
    } finally {
      await context.close();
    }
  });
});

describe.skipIf(!haveChromium)('wide tables with the keyboard alone', () => {
  it('reaches the policy table by Tab, hears its name, and scrolls it sideways with the arrow keys', async () => {
    const { context, page } = await browser.page();
    try {
      await signInWithKey(page, gw.url, gw.keys['alice']!);
      await page.setViewportSize({ width: 320, height: 720 });
      await page.goto(`${gw.url}/policy`);
      const region = page.getByRole('region', { name: 'Rules table' });
      // The table is wider than its region here: that is what needs a keyboard to scroll it.
      expect(await region.evaluate((el) => el.scrollWidth > el.clientWidth)).toBe(true);
      let reached = false;
      for (let i = 0; i < 40 && !reached; i++) {
        await page.keyboard.press('Tab');
        reached = await region.evaluate((el) => el === el.ownerDocument.activeElement);
      }
      expect(reached).toBe(true);
      expect(await region.evaluate((el) => el.scrollLeft)).toBe(0);
      for (let i = 0; i < 5; i++) await page.keyboard.press('ArrowRight');
      await expect.poll(() => region.evaluate((el) => el.scrollLeft)).toBeGreaterThan(0);
    } finally {
      await context.close();
    }
  });
});
