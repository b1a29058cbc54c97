/**
 * A real HTTP client session for login flows: a cookie jar, redirects
 * followed one by one (so each hop is visible), and HTML forms submitted
 * with their hidden fields, the way a browser without JavaScript would.
 */

export interface Page {
  url: string;
  status: number;
  html: string;
  headers: Headers;
}

interface Form {
  action: string;
  method: string;
  id: string | undefined;
  fields: Record<string, string>;
}

const attr = (tag: string, name: string) => new RegExp(`\\b${name}\\s*=\\s*"([^"]*)"`, 'i').exec(tag)?.[1];
const unescape = (s: string) => s.replace(/&amp;/g, '&').replace(/&quot;/g, '"').replace(/&#x27;|&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&#x2F;/g, '/');

export function formsOf(html: string): Form[] {
  return [...html.matchAll(/<form\b([^>]*)>([\s\S]*?)<\/form>/gi)].map(([, tag, body]) => {
    const fields: Record<string, string> = {};
    for (const [input] of body!.matchAll(/<input\b[^>]*>/gi)) {
      const name = attr(input, 'name');
      if (name) fields[name] = unescape(attr(input, 'value') ?? '');
    }
    return { action: unescape(attr(tag!, 'action') ?? ''), method: (attr(tag!, 'method') ?? 'get').toLowerCase(), id: attr(tag!, 'id'), fields };
  });
}

export class HttpBrowser {
  private readonly jar = new Map<string, Map<string, string>>();
  /** Every URL requested, in order. */
  readonly visited: string[] = [];

  cookies(origin: string): Map<string, string> {
    return this.jar.get(new URL(origin).host) ?? new Map();
  }

  private store(url: string, headers: Headers): void {
    const host = new URL(url).host;
    const jar = this.jar.get(host) ?? new Map<string, string>();
    for (const line of headers.getSetCookie()) {
      const [pair] = line.split(';');
      const eq = pair!.indexOf('=');
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      if (/max-age=0\b|expires=thu, 01 jan 1970/i.test(line) || value === '') jar.delete(name);
      else jar.set(name, value);
    }
    this.jar.set(host, jar);
  }

  /** One request, no redirect following. */
  async request(url: string, init: { method?: string; body?: URLSearchParams; headers?: Record<string, string> } = {}): Promise<Page> {
    this.visited.push(url);
    const cookie = [...this.cookies(url)].map(([k, v]) => `${k}=${v}`).join('; ');
    const res = await fetch(url, {
      method: init.method ?? 'GET',
      redirect: 'manual',
      headers: { ...(cookie ? { cookie } : {}), ...(init.body ? { 'content-type': 'application/x-www-form-urlencoded', origin: new URL(url).origin } : {}), ...init.headers },
      ...(init.body ? { body: init.body.toString() } : {}),
    });
    this.store(url, res.headers);
    return { url, status: res.status, html: await res.text(), headers: res.headers };
  }

  /** Follows redirects until a page answers, or until `stop` says a URL is the destination (not requested then). */
  async follow(url: string, init: Parameters<HttpBrowser['request']>[1] = {}, stop?: (url: string) => boolean): Promise<Page> {
    let page = await this.request(url, init);
    for (let hops = 0; page.status >= 300 && page.status < 400; hops++) {
      if (hops > 20) throw new Error('too many redirects');
      const next = new URL(page.headers.get('location')!, page.url).href;
      if (stop?.(next)) return { ...page, url: next };
      page = await this.request(next);
    }
    return page;
  }

  /** Submits the form (the first, or the one whose id matches) with its fields and `values`. */
  async submit(page: Page, values: Record<string, string> = {}, opts: { formId?: string; action?: string; stop?: (url: string) => boolean } = {}): Promise<Page> {
    const form = formsOf(page.html).find((f) => (opts.formId === undefined || f.id === opts.formId) && (opts.action === undefined || f.action === opts.action));
    if (!form) throw new Error(`no form${opts.formId ? ` ${opts.formId}` : ''} on ${page.url}: ${page.html.slice(0, 300)}`);
    const action = new URL(form.action || page.url, page.url).href;
    return this.follow(action, { method: form.method.toUpperCase(), body: new URLSearchParams({ ...form.fields, ...values }) }, opts.stop);
  }
}
