/**
 * A strict reader of the Prometheus text exposition format (version 0.0.4),
 * for tests: every line must be a HELP, a TYPE or a sample of the grammar,
 * and each family must be one group — its HELP and TYPE first, then all its
 * samples, never split by another family and never seen twice. Throws,
 * naming the line, on anything else.
 */

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Family {
  readonly name: string;
  readonly help: string;
  readonly type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
  readonly samples: Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const SUFFIXES: Record<Family['type'], readonly string[]> = {
  counter: [''],
  gauge: [''],
  untyped: [''],
  histogram: ['_bucket', '_sum', '_count'],
  summary: ['', '_sum', '_count'],
};

function parseValue(text: string, where: string): number {
  // Prometheus reads values with Go's strconv.ParseFloat, which takes NaN and Inf in any case (prom-client writes "Nan").
  if (/^nan$/i.test(text)) return Number.NaN;
  if (/^\+?inf$/i.test(text)) return Number.POSITIVE_INFINITY;
  if (/^-inf$/i.test(text)) return Number.NEGATIVE_INFINITY;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new Error(`${where}: not a sample value: ${JSON.stringify(text)}`);
  return Number(text);
}

/** `{a="x",b="y\"z"}` from position 0 of `s` → labels and the length read. */
function parseLabels(s: string, where: string): { labels: Record<string, string>; length: number } {
  const labels: Record<string, string> = {};
  let i = 1;
  while (s[i] !== '}') {
    const eq = s.indexOf('=', i);
    if (eq < 0) throw new Error(`${where}: a label without =`);
    const name = s.slice(i, eq);
    if (!LABEL.test(name) || name.startsWith('__')) throw new Error(`${where}: not a label name: ${JSON.stringify(name)}`);
    if (name in labels) throw new Error(`${where}: label ${name} twice`);
    if (s[eq + 1] !== '"') throw new Error(`${where}: label ${name} has no quoted value`);
    let v = '';
    let j = eq + 2;
    for (;;) {
      const c = s[j];
      if (c === undefined) throw new Error(`${where}: unterminated label value`);
      if (c === '"') break;
      if (c === '\\') {
        const e = s[j + 1];
        if (e === '\\') v += '\\';
        else if (e === '"') v += '"';
        else if (e === 'n') v += '\n';
        else throw new Error(`${where}: bad escape \\${e ?? ''}`);
        j += 2;
      } else {
        v += c;
        j++;
      }
    }
    labels[name] = v;
    i = j + 1;
    if (s[i] === ',') i++;
    else if (s[i] !== '}') throw new Error(`${where}: expected , or } after label ${name}`);
  }
  return { labels, length: i + 1 };
}

/**
 * @example
 * const families = parseExposition(await (await fetch(`${url}/metrics`)).text());
 * families.get('countersign_requests_total')?.samples;
 */
export function parseExposition(text: string): Map<string, Family> {
  if (!text.endsWith('\n')) throw new Error('the exposition does not end with a line feed');
  const families = new Map<string, Family & { typed: boolean; sampled: boolean }>();
  let current: (Family & { typed: boolean; sampled: boolean }) | undefined;
  const open = (name: string, where: string) => {
    if (current?.name === name) return current;
    if (families.has(name)) throw new Error(`${where}: family ${name} appears again after another family (one group per family)`);
    current = { name, help: '', type: 'untyped', samples: [], typed: false, sampled: false };
    families.set(name, current);
    return current;
  };
  text
    .slice(0, -1)
    .split('\n')
    .forEach((line, n) => {
      const where = `line ${n + 1}`;
      if (line === '') return;
      const meta = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (meta) {
        const [, kind, name, rest] = meta as unknown as [string, 'HELP' | 'TYPE', string, string];
        if (!NAME.test(name)) throw new Error(`${where}: not a metric name: ${name}`);
        const f = open(name, where);
        if (f.sampled) throw new Error(`${where}: ${kind} of ${name} after its samples`);
        if (kind === 'HELP') {
          if (f.help) throw new Error(`${where}: second HELP of ${name}`);
          (f as { help: string }).help = rest.replace(/\\n/g, '\n').replace(/\\\\/g, '\\');
        } else {
          if (f.typed) throw new Error(`${where}: second TYPE of ${name}`);
          if (!(rest in SUFFIXES)) throw new Error(`${where}: unknown type ${rest}`);
          (f as { type: string }).type = rest;
          f.typed = true;
        }
        return;
      }
      if (line.startsWith('#')) return;
      const name = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line)?.[0];
      if (!name) throw new Error(`${where}: not a sample: ${JSON.stringify(line)}`);
      let rest = line.slice(name.length);
      let labels: Record<string, string> = {};
      if (rest.startsWith('{')) {
        const parsed = parseLabels(rest, where);
        labels = parsed.labels;
        rest = rest.slice(parsed.length);
      }
      const parts = rest.split(' ');
      if (parts[0] !== '' || parts.length < 2 || parts.length > 3) throw new Error(`${where}: expected " value [timestamp]": ${JSON.stringify(line)}`);
      const value = parseValue(parts[1]!, where);
      // The sample belongs to the family open now when its name is that family's name plus one of its type's suffixes.
      const f = current && SUFFIXES[current.type].some((s) => `${current!.name}${s}` === name) ? current : open(name, where);
      if (!SUFFIXES[f.type].some((s) => `${f.name}${s}` === name)) throw new Error(`${where}: ${name} is not a sample name of ${f.type} ${f.name}`);
      f.sampled = true;
      f.samples.push({ name, labels, value });
    });
  return new Map([...families].map(([k, { typed: _t, sampled: _s, ...f }]) => [k, f]));
}

/** The value of the one sample named `name` whose labels include `labels`; 0 when there is none (a counter not yet moved). */
export function valueOf(families: Map<string, Family>, name: string, labels: Record<string, string> = {}): number {
  const matches = [...families.values()]
    .flatMap((f) => f.samples)
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v) && Object.keys(s.labels).length === Object.keys(labels).length);
  if (matches.length > 1) throw new Error(`${matches.length} samples of ${name} match ${JSON.stringify(labels)}`);
  return matches[0]?.value ?? 0;
}
