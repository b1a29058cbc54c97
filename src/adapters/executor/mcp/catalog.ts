/**
 * The tool catalog of one upstream: the definitions it listed last (each with
 * its hash, computed once per listing) and the pins they are compared with.
 * Facts are synchronous, so they read this cache; listings refresh it.
 */
import type { ToolAcceptors } from '../../../core/mcp/acceptors.ts';
import type { ToolPin } from '../../../core/mcp/pins.ts';
import { toolHash, type ToolDefinition } from '../../../core/mcp/tool.ts';
import type { ToolCatalog } from '../../../core/ports.ts';

export interface CatalogEntry {
  readonly definition: ToolDefinition;
  readonly hash: string;
  /** The definition differs from its pin, or has none yet: not trusted. */
  readonly changed: boolean;
  /** The accepted (pinned) definition, when the tool has a pin. */
  readonly pinned: ToolDefinition | undefined;
}

export function createToolCatalog(
  list: () => Promise<ToolDefinition[]>,
  waitSeconds: number,
  acceptors: ToolAcceptors,
): ToolCatalog & { entry(tool: string): CatalogEntry | undefined; notifyListChanged(): void } {
  let tools: { definition: ToolDefinition; hash: string }[] = [];
  let pins = new Map<string, ToolPin>();
  let entries = new Map<string, CatalogEntry>();
  let listing: Promise<readonly ToolDefinition[]> | undefined;
  const listeners: (() => void)[] = [];

  const rebuild = () => {
    entries = new Map(
      tools.map((t) => {
        const pin = pins.get(t.definition.name);
        return [t.definition.name, { ...t, changed: pin?.hash !== t.hash, pinned: pin?.definition }];
      }),
    );
  };

  return {
    waitSeconds,
    acceptors,
    tools: () => tools.map((t) => t.definition),
    refresh() {
      listing ??= list()
        .then((defs) => {
          tools = defs.map((definition) => ({ definition, hash: toolHash(definition) }));
          rebuild();
          return defs;
        })
        .finally(() => {
          listing = undefined;
        });
      return listing;
    },
    onListChanged(listener) {
      listeners.push(listener);
    },
    notifyListChanged() {
      for (const l of listeners) l();
    },
    setPins(next) {
      pins = new Map(next.map((p) => [p.tool, p]));
      rebuild();
    },
    pins: () => [...pins.values()],
    entry: (tool) => entries.get(tool),
  };
}
