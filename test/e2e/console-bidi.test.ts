/**
 * Right-to-left letters in an agent's input cannot reorder what the console
 * shows. Without any bidi control character, Unicode's bidi algorithm lays a
 * run of numbers and punctuation between two Hebrew letters out right to
 * left: `VALUES ('א', 5, 1000000, 'ב')` reads `('ב', 1000000, 5, 'א')`, the
 * two limits swapped. Measured in Chromium with the console's stylesheet.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestRecord } from '../support/fixtures.ts';
import { CHROMIUM, launchBrowser, type TestBrowser } from '../support/browser.ts';
import { inputView } from '../../src/surfaces/http/console/input-view.ts';

const CSS = readFileSync(resolve('src/surfaces/http/console/assets/console.css'), 'utf8');
let browser: TestBrowser;

const haveChromium = existsSync(CHROMIUM);
if (!haveChromium && process.env['CI'] === 'true') throw new Error(`${CHROMIUM} is missing: the console's browser tests cannot run (apt-get install -y chromium)`);

beforeAll(async () => {
  if (haveChromium) browser = await launchBrowser();
}, 60_000);
afterAll(async () => {
  await browser?.close();
});

/** The left edge, on screen, of each of `marks` (each found once) in the page's first `pre.code`. */
async function lefts(body: string, marks: string[]): Promise<number[]> {
  const { context, page } = await browser.page();
  try {
    await page.setContent(`<!doctype html><html><head><style>${CSS}</style></head><body><main>${body}</main></body></html>`);
    // A string, run in the page: the test's compiler knows no DOM types.
    return (await page.evaluate(`(${JSON.stringify(marks)}).map((m) => {
      const pre = document.querySelector('pre.code');
      const at = (pre.textContent ?? '').indexOf(m);
      const walker = document.createTreeWalker(pre, NodeFilter.SHOW_TEXT);
      let seen = 0;
      for (let n = walker.nextNode(); n; n = walker.nextNode()) {
        const len = (n.textContent ?? '').length;
        if (at < seen + len) {
          const r = document.createRange();
          r.setStart(n, at - seen);
          r.setEnd(n, at - seen + m.length);
          return r.getBoundingClientRect().left;
        }
        seen += len;
      }
      return NaN;
    })`)) as number[];
  } finally {
    await context.close();
  }
}

describe.skipIf(!haveChromium)('right-to-left letters in the console', () => {
  it('do not reorder the values of a SQL statement', async () => {
    const r = requestRecord({ action: { ...requestRecord().action, input: { sql: "INSERT INTO limits VALUES ('א', 5, 1000000, 'ב')" } } });
    const [five, million] = await lefts(inputView(r).value, ['5', '1000000']);
    expect(five).toBeLessThan(million!);
  }, 60_000);

  it('do not reorder the values of a body sent as text', async () => {
    const r = requestRecord({ action: { ...requestRecord().action, operation: 'http.request', input: { method: 'POST', path: '/limits', body: 'limits: א, 5, 1000000, ב' } } });
    const [five, million] = await lefts(inputView(r).value, ['5', '1000000']);
    expect(five).toBeLessThan(million!);
  }, 60_000);
});
