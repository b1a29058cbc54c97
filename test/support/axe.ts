/**
 * axe-core in a console page (console-a11y.test.ts): the WCAG 2.2 AA rules, the ones of them that read colours, and
 * what a page's colour scheme changes besides colours.
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import type { Page } from 'playwright-core';

const AXE = resolve('node_modules/axe-core/axe.min.js');
const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];

interface AxeResult {
  violations: { id: string; impact: string; help: string; nodes: { target: unknown[]; failureSummary: string }[] }[];
}

/**
 * The rules of TAGS whose checks read colours (axe-core's colour utilities: the text's colour against what lies
 * behind it, and a link's against the text around it). Every other rule of TAGS reads the DOM, ARIA, text and layout.
 */
export const COLOUR_RULES = ['color-contrast', 'link-in-text-block'];

/** axe-core in the pages of a test file; close it in the file's afterAll. */
export interface Axe {
  /**
   * axe-core on the page as it stands (loaded once per page load), every rule of TAGS or only `rules`; the
   * violations in a form a failing test can print.
   */
  run(page: Page, rules?: readonly string[]): Promise<string[]>;
  close(): Promise<void>;
}

/**
 * axe-core served from a server of its own, cacheable, and loaded by each page as a script from it. Chromium then
 * keeps the script's compiled code in the context's cache from its third load on; injected as inline text, as
 * addScriptTag({ path }) does, it was compiled again on every page load (about 0.4 s of a page's first axe run here,
 * 0.03–0.08 s from that cache). The page's Content-Security-Policy must be bypassed (`bypassCSP`) to load it.
 */
export async function startAxe(): Promise<Axe> {
  const source = readFileSync(AXE);
  const server = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/javascript', 'cache-control': 'max-age=3600' });
    res.end(source);
  });
  await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/axe.min.js`;
  return {
    async run(page, rules) {
      if (!(await page.evaluate('typeof axe === "object"'))) await page.addScriptTag({ url });
      const options = { runOnly: rules ? { type: 'rule', values: rules } : { type: 'tag', values: TAGS }, resultTypes: ['violations'] };
      const result = (await page.evaluate(`axe.run(document, ${JSON.stringify(options)})`)) as AxeResult;
      return result.violations.flatMap((v) => v.nodes.map((n) => `${v.id} (${v.impact}): ${v.help} at ${JSON.stringify(n.target)} — ${n.failureSummary}`));
    },
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}

/**
 * What the colour scheme changes on the page besides colours, for each place it could. Under a prefers-color-scheme
 * media rule of the page's style sheets (however nested, @import included): a declaration whose value is not a
 * colour (a var() or a shorthand counts as not one), or a property that takes no colour; a custom property set
 * there that is not a colour where it is set outside such a rule (substituted into any property, one colour for
 * another then changes only a colour, or what takes none alike in both schemes). Beside them: an element whose media
 * attribute names the scheme (a style sheet, a picture's source), a style sheet the page cannot read, a script of
 * the page (inline or its file) that names the scheme or asks matchMedia. Empty: the page in the dark scheme is the
 * light one recoloured, so the rules outside COLOUR_RULES find there what they find in the light one.
 */
export const SCHEME_CHANGES_MORE_THAN_COLOURS = `(async () => {
  const found = [];
  const SCHEME = /prefers-color-scheme/i;
  const colour = (value) => !value.includes('var(') && CSS.supports('color', value);
  const declarations = [];
  const walk = (rules, inScheme) => {
    for (const rule of rules) {
      const scheme = inScheme || (rule.media !== undefined && SCHEME.test(rule.media.mediaText ?? String(rule.media)));
      if (rule.style) for (const prop of rule.style) declarations.push({ where: rule.selectorText, prop, value: rule.style.getPropertyValue(prop).trim(), scheme });
      if (rule.cssRules) walk(rule.cssRules, scheme);
      if (rule.styleSheet) sheet(rule.styleSheet, scheme);
    }
  };
  const sheet = (s, inScheme) => {
    let rules;
    try { rules = s.cssRules; } catch { found.push('unreadable style sheet ' + s.href); return; }
    walk(rules, inScheme || SCHEME.test(s.media.mediaText));
  };
  for (const s of document.styleSheets) sheet(s, false);
  const recoloured = new Set();
  for (const d of declarations.filter((d) => d.scheme)) {
    const custom = d.prop.startsWith('--');
    if (!colour(d.value) || (!custom && !CSS.supports(d.prop, d.value))) found.push(d.where + ' { ' + d.prop + ': ' + d.value + ' }');
    if (custom) recoloured.add(d.prop);
  }
  for (const d of declarations.filter((d) => !d.scheme && recoloured.has(d.prop) && !colour(d.value))) found.push(d.where + ' { ' + d.prop + ': ' + d.value + ' } outside the scheme');
  for (const el of document.querySelectorAll('[media]')) if (SCHEME.test(el.getAttribute('media'))) found.push(el.outerHTML.slice(0, 80));
  for (const script of document.scripts) {
    const text = script.src ? await (await fetch(script.src)).text() : script.textContent;
    if (/prefers-color-scheme|matchMedia/.test(text)) found.push('script ' + (script.src || 'inline') + ' reads the scheme');
  }
  return found;
})()`;
