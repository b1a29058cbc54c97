/**
 * Checks an Adaptive Card against the parts of the Adaptive Card schema
 * (version 1.5, https://adaptivecards.io/explorer/) that our cards use: known
 * element and action types where each may stand, their required properties,
 * enum values, ids unique and every ToggleVisibility target present — and
 * Teams' message size (about 28 KB). The official JSON schema is not vendored
 * here; this is the subset our builder emits, checked strictly.
 */

type Obj = Record<string, any>;

/** Teams refuses a message over about 28 KB. */
export const TEAMS_MESSAGE_MAX_BYTES = 28 * 1024;

const ELEMENTS = new Set(['TextBlock', 'RichTextBlock', 'Container', 'ActionSet', 'ColumnSet', 'FactSet', 'Image', 'Input.Text', 'Input.Toggle', 'Input.ChoiceSet']);
const ACTIONS = new Set(['Action.Execute', 'Action.OpenUrl', 'Action.ShowCard', 'Action.ToggleVisibility', 'Action.Submit']);
const ENUMS: Record<string, readonly string[]> = {
  size: ['Default', 'Small', 'Medium', 'Large', 'ExtraLarge'],
  weight: ['Default', 'Lighter', 'Bolder'],
  color: ['Default', 'Dark', 'Light', 'Accent', 'Good', 'Warning', 'Attention'],
  fontType: ['Default', 'Monospace'],
  associatedInputs: ['auto', 'none'],
};
const CONTAINER_STYLES = ['default', 'emphasis', 'good', 'attention', 'warning', 'accent'];
const ACTION_STYLES = ['default', 'positive', 'destructive'];

/** Every problem the card has; empty when it is valid. */
export function adaptiveCardProblems(card: Obj): string[] {
  const problems: string[] = [];
  const ids = new Map<string, number>();
  const targets: string[] = [];
  const bad = (where: string, what: string) => problems.push(`${where}: ${what}`);

  const enums = (o: Obj, where: string) => {
    for (const [k, allowed] of Object.entries(ENUMS)) if (o[k] !== undefined && !allowed.includes(o[k])) bad(where, `${k} ${o[k]}`);
  };
  const id = (o: Obj) => {
    if (typeof o['id'] === 'string') ids.set(o['id'], (ids.get(o['id']) ?? 0) + 1);
  };

  function action(a: Obj, where: string): void {
    if (!ACTIONS.has(a['type'])) return void bad(where, `unknown action ${a['type']}`);
    id(a);
    enums(a, where);
    if (a['style'] !== undefined && !ACTION_STYLES.includes(a['style'])) bad(where, `action style ${a['style']}`);
    if (a['title'] !== undefined && typeof a['title'] !== 'string') bad(where, 'title not a string');
    if (a['type'] === 'Action.OpenUrl' && typeof a['url'] !== 'string') bad(where, 'OpenUrl without url');
    if (a['type'] === 'Action.Execute' && a['verb'] !== undefined && typeof a['verb'] !== 'string') bad(where, 'verb not a string');
    if (a['type'] === 'Action.ShowCard') {
      if (a['card']?.type !== 'AdaptiveCard') bad(where, 'ShowCard without card');
      else card_(a['card'], `${where}.card`);
    }
    if (a['type'] === 'Action.ToggleVisibility') {
      if (!Array.isArray(a['targetElements']) || a['targetElements'].length === 0) bad(where, 'ToggleVisibility without targets');
      else targets.push(...a['targetElements'].map((t: unknown) => (typeof t === 'string' ? t : (t as Obj)['elementId'])));
    }
  }

  function element(e: Obj, where: string): void {
    if (!ELEMENTS.has(e['type'])) return void bad(where, `unknown element ${e['type']}`);
    id(e);
    enums(e, where);
    if (e['selectAction']) {
      if (e['selectAction'].type === 'Action.ShowCard') bad(where, 'selectAction cannot be ShowCard');
      action(e['selectAction'], `${where}.selectAction`);
    }
    switch (e['type']) {
      case 'TextBlock':
        if (typeof e['text'] !== 'string') bad(where, 'TextBlock without text');
        break;
      case 'RichTextBlock':
        if (!Array.isArray(e['inlines'])) bad(where, 'RichTextBlock without inlines');
        else
          e['inlines'].forEach((r: Obj, i: number) => {
            if (r['type'] !== 'TextRun' || typeof r['text'] !== 'string') bad(`${where}.inlines[${i}]`, 'not a TextRun with text');
            enums(r, `${where}.inlines[${i}]`);
          });
        break;
      case 'Container':
        if (!Array.isArray(e['items'])) bad(where, 'Container without items');
        else e['items'].forEach((x: Obj, i: number) => element(x, `${where}.items[${i}]`));
        if (e['style'] !== undefined && !CONTAINER_STYLES.includes(e['style'])) bad(where, `container style ${e['style']}`);
        break;
      case 'ActionSet':
        if (!Array.isArray(e['actions'])) bad(where, 'ActionSet without actions');
        else e['actions'].forEach((a: Obj, i: number) => action(a, `${where}.actions[${i}]`));
        break;
      case 'Input.Text':
      case 'Input.Toggle':
        if (typeof e['id'] !== 'string') bad(where, `${e['type']} without id`);
        if (e['type'] === 'Input.Toggle' && typeof e['title'] !== 'string') bad(where, 'Input.Toggle without title');
        if (e['isRequired'] === true && typeof e['errorMessage'] !== 'string') bad(where, 'required input without errorMessage');
        break;
    }
  }

  function card_(c: Obj, where: string): void {
    if (c['type'] !== 'AdaptiveCard') bad(where, 'not an AdaptiveCard');
    if (!Array.isArray(c['body'])) bad(where, 'no body');
    else c['body'].forEach((e: Obj, i: number) => element(e, `${where}.body[${i}]`));
    (c['actions'] ?? []).forEach((a: Obj, i: number) => action(a, `${where}.actions[${i}]`));
  }

  if (card['version'] !== '1.5') bad('card', `version ${card['version']}`);
  card_(card, 'card');
  if (card['refresh']) action(card['refresh'].action, 'card.refresh');
  for (const [k, n] of ids) if (n > 1) bad('card', `id ${k} used ${n} times`);
  for (const t of targets) if (!ids.has(t)) bad('card', `ToggleVisibility target ${t} missing`);
  const bytes = new TextEncoder().encode(JSON.stringify(card)).length;
  if (bytes > TEAMS_MESSAGE_MAX_BYTES) bad('card', `${bytes} bytes (Teams takes about ${TEAMS_MESSAGE_MAX_BYTES})`);
  return problems;
}
