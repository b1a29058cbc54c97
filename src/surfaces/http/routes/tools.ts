/**
 * Tool pins over HTTP, for humans: GET /v1/mcp/tools lists each upstream
 * tool's accepted definition and any change seen since; POST
 * /v1/mcp/tools/:connection/:tool/accept with the changed definition's hash
 * makes it the pin.
 */
import { Hono } from 'hono';
import { z } from 'zod';
import type { ToolPin } from '../../../core/mcp/pins.ts';
import type { Deps } from '../../../service/deps.ts';
import { acceptToolChange } from '../../../service/tool-accept.ts';
import { listToolPins } from '../../../service/tool-pins.ts';
import { jsonBody } from '../body.ts';
import type { AppEnv } from '../context.ts';

const acceptBody = z.strictObject({ hash: z.string().regex(/^sha256:[0-9a-f]{64}$/, 'the sha256:<hex> of the definition you reviewed') });

export function pinView(p: ToolPin): Record<string, unknown> {
  return {
    connection: p.connection,
    tool: p.tool,
    state: p.changed ? 'changed' : 'pinned',
    hash: p.hash,
    definition: p.definition,
    pinnedAt: p.pinnedAt,
    pinnedBy: p.pinnedBy,
    changed: p.changed,
  };
}

export function toolRoutes(deps: Deps): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  app.get('/tools', async (c) => {
    const connection = c.req.query('connection');
    const pins = await listToolPins(deps, c.get('principal'), connection ? { connection } : {});
    const onlyChanged = c.req.query('changed') === 'true';
    return c.json({ tools: pins.filter((p) => !onlyChanged || p.changed).map(pinView) });
  });
  app.post('/tools/:connection/:tool/accept', async (c) => {
    const body = await jsonBody(c, acceptBody);
    const pin = await acceptToolChange(deps, c.get('principal'), { connection: c.req.param('connection'), tool: c.req.param('tool'), hash: body.hash });
    return c.json(pinView(pin));
  });
  return app;
}
