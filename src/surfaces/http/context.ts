/** What the HTTP app carries per request: the authenticated principal and a trace id. */
import type { Principal } from '../../core/principal.ts';

export type AppEnv = {
  Variables: {
    principal: Principal;
    traceId: string;
    /** The most bytes a JSON body may have (server.bodyLimitBytes). */
    bodyLimit: number;
  };
};
