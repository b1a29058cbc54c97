/**
 * Slack's Block Kit limits as Slack enforces them: a message with one block
 * over its limit is refused whole (`invalid_blocks`), one with too many
 * blocks too. The fake Slack answers with this, so a message the gateway
 * builds too long fails a test as it would fail in production.
 * https://api.slack.com/reference/block-kit/blocks, /composition-objects, /block-elements
 */

type Obj = Record<string, any>;

/** Why Slack would refuse these blocks, or undefined when it would take them. */
export function blockKitProblem(message: { text?: unknown; blocks?: unknown }): string | undefined {
  if (typeof message.text === 'string' && message.text.length > 40_000) return 'msg_too_long';
  const blocks = message.blocks;
  if (blocks === undefined) return undefined;
  if (!Array.isArray(blocks)) return 'invalid_blocks: not a list';
  if (blocks.length > 50) return `invalid_blocks: ${blocks.length} blocks (at most 50)`;
  for (const [i, b] of (blocks as Obj[]).entries()) {
    const problem = blockProblem(b);
    if (problem) return `invalid_blocks: block ${i} (${b['type']}): ${problem}`;
  }
  return undefined;
}

function textProblem(t: Obj | undefined, max: number, what: string, plainOnly = false): string | undefined {
  if (!t) return `${what}: missing`;
  if (t['type'] !== 'plain_text' && (plainOnly || t['type'] !== 'mrkdwn')) return `${what}: type ${t['type']}`;
  if (typeof t['text'] !== 'string' || t['text'].length === 0) return `${what}: empty`;
  if (t['text'].length > max) return `${what}: ${t['text'].length} characters (at most ${max})`;
  return undefined;
}

function elementProblem(e: Obj): string | undefined {
  if (e['type'] !== 'button') return undefined;
  const problem = textProblem(e['text'], 75, 'button text', true);
  if (problem) return problem;
  if (typeof e['value'] === 'string' && e['value'].length > 2000) return 'button value over 2000';
  const c = e['confirm'] as Obj | undefined;
  if (c) {
    return (
      textProblem(c['title'], 100, 'confirm title', true) ??
      textProblem(c['text'], 300, 'confirm text') ??
      textProblem(c['confirm'], 30, 'confirm button', true) ??
      textProblem(c['deny'], 30, 'deny button', true)
    );
  }
  return undefined;
}

function blockProblem(b: Obj): string | undefined {
  switch (b['type']) {
    case 'header':
      return textProblem(b['text'], 150, 'header text', true);
    case 'section': {
      if (!b['text'] && !b['fields']) return 'neither text nor fields';
      if (b['text']) {
        const problem = textProblem(b['text'], 3000, 'section text');
        if (problem) return problem;
      }
      const fields = (b['fields'] ?? []) as Obj[];
      if (fields.length > 10) return `${fields.length} fields (at most 10)`;
      for (const f of fields) {
        const problem = textProblem(f, 2000, 'field');
        if (problem) return problem;
      }
      return b['accessory'] ? elementProblem(b['accessory']) : undefined;
    }
    case 'context': {
      const els = (b['elements'] ?? []) as Obj[];
      if (els.length === 0 || els.length > 10) return `${els.length} context elements (1 to 10)`;
      for (const e of els) if (e['type'] !== 'image') {
        const problem = textProblem(e, 3000, 'context text');
        if (problem) return problem;
      }
      return undefined;
    }
    case 'actions': {
      const els = (b['elements'] ?? []) as Obj[];
      if (els.length === 0 || els.length > 25) return `${els.length} elements (1 to 25)`;
      for (const e of els) {
        const problem = elementProblem(e);
        if (problem) return problem;
      }
      return undefined;
    }
    case 'divider':
    case 'input':
      return undefined;
    default:
      return `unknown block type ${b['type']}`;
  }
}
