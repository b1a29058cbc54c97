/**
 * How the session a held statement came from differs from a new one, for its
 * reviewers. A wire client may SET DateStyle, TimeZone, IntervalStyle,
 * lc_numeric … and make temporary objects; the same text then means
 * something else (`'03/04/2026'` is 3 April under `DateStyle = 'ISO, DMY'`, a
 * temporary `orders` is found before the real one). The request records it in
 * its context (`sessionSettings`, `sessionObjects`: one line each, the
 * values quoted and shown in printable ASCII), and every channel shows it
 * under a label of the gateway's, with a `session state` risk.
 */

/** What a wire session reads for a held statement (ports.ts SessionRunner.state). */
export interface SessionState {
  /** Digest of the state that gives the text its meaning: the approval resumes only where it is the same. */
  readonly digest: string;
  /** Each setting that differs from a new session's: `DateStyle = "ISO, DMY" (default "ISO, MDY")`. */
  readonly settings: readonly string[];
  /** The session's temporary objects and open cursors: `temporary table orders`. */
  readonly objects: readonly string[];
}

/** The request context keys that hold them, one line each. */
export const SESSION_SETTINGS = 'sessionSettings';
export const SESSION_OBJECTS = 'sessionObjects';

/**
 * A value as a reviewer reads it, on one line whatever it holds: in double
 * quotes, `"` and `\` escaped, every character but printable ASCII as
 * `\u{…}` (a newline, a bidi override, a Cyrillic `о` that passes for an `o`).
 *
 * @example
 * shownText('ISO, DMY');      // '"ISO, DMY"'
 * shownText('a\u202Eb"');     // '"a\\u{202e}b\\""'
 */
export function shownText(value: string): string {
  const inner = value.replace(/[^\x20-\x7e]|["\\]/gu, (c) => (c === '"' || c === '\\' ? `\\${c}` : `\\u{${(c.codePointAt(0) ?? 0).toString(16)}}`));
  return `"${inner}"`;
}

/**
 * The context keys a held statement records beside its state's digest: only those with something to show.
 *
 * @example
 * sessionContext({ digest, settings: ['DateStyle = "ISO, DMY" (default "ISO, MDY")'], objects: [] }); // { sessionSettings: 'DateStyle = …' }
 */
export function sessionContext(state: Pick<SessionState, 'settings' | 'objects'>): Record<string, string> {
  return {
    ...(state.settings.length ? { [SESSION_SETTINGS]: state.settings.join('\n') } : {}),
    ...(state.objects.length ? { [SESSION_OBJECTS]: state.objects.join('\n') } : {}),
  };
}

/** The lines a channel shows (each hidden character still made visible by the channel, as all recorded text is). */
export interface SessionShown {
  readonly settings: readonly string[];
  readonly objects: readonly string[];
}

/**
 * How a request's session differed from a new one, from its context; undefined when it did not (or it came from no session).
 *
 * @example
 * sessionShown(record); // { settings: ['DateStyle = "ISO, DMY" (default "ISO, MDY")'], objects: [] }
 */
export function sessionShown(r: { readonly context?: Readonly<Record<string, string>> | undefined }): SessionShown | undefined {
  const lines = (key: string) => (r.context?.[key] ?? '').split('\n').filter((l) => l !== '');
  const settings = lines(SESSION_SETTINGS);
  const objects = lines(SESSION_OBJECTS);
  return settings.length || objects.length ? { settings, objects } : undefined;
}

/**
 * The lines under one label (`Session differs from a new one`): settings first, then objects.
 *
 * @example
 * sessionLines({ settings: ['DateStyle = "ISO, DMY" (default "ISO, MDY")'], objects: ['temporary table orders'] }); // ['DateStyle = …', 'temporary table orders']
 */
export function sessionLines(shown: SessionShown): string[] {
  return [...shown.settings, ...shown.objects];
}

/**
 * The same lines as one text, for a channel that shows text.
 *
 * @example
 * sessionText({ settings: ['DateStyle = "ISO, DMY" (default "ISO, MDY")'], objects: ['temporary table orders'] }); // 'DateStyle = …\ntemporary table orders'
 */
export function sessionText(shown: SessionShown): string {
  return sessionLines(shown).join('\n');
}

/** The label every channel puts over them. */
export const SESSION_LABEL = 'Session differs from a new one';
