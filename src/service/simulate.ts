/**
 * Simulate: what would the policy do with this action, without creating
 * anything. A human may simulate as any principal; an agent only as itself.
 */
import { OPERATION_BY_KIND, parseInput, type Action } from '../core/action.ts';
import { actionDigest } from '../core/digest.ts';
import { CountersignError } from '../core/errors.ts';
import type { Facts } from '../core/facts.ts';
import type { Decision } from '../core/policy/decision.ts';
import type { Principal } from '../core/principal.ts';
import { decide } from './decide.ts';
import type { Deps } from './deps.ts';

export interface SimulateCommand {
  readonly caller: Principal;
  /** Simulate as this principal id (default: the caller). */
  readonly as?: string;
  readonly connection: string;
  readonly input: unknown;
  readonly reason?: string;
}

export interface Simulation {
  readonly principal: string;
  readonly decision: Decision;
  readonly facts: Facts;
  readonly digest: string;
}

/**
 * @example
 * (await simulate(deps, { caller: alice, as: 'deploy-bot', connection: 'orders-db', input: { sql: 'drop table t' } })).decision.effect; // 'deny'
 */
export function simulate(deps: Pick<Deps, 'identity' | 'connections' | 'policy' | 'clock'>, cmd: SimulateCommand): Simulation {
  const principal = simulatedPrincipal(deps, cmd);
  const handle = deps.connections.get(cmd.connection);
  if (!handle) throw new CountersignError('UNKNOWN_CONNECTION', `no connection named ${JSON.stringify(cmd.connection).slice(0, 80)}`);
  const input = parseInput(handle.info.kind, cmd.input);
  const facts = handle.facts(input);
  const action: Action = { connection: handle.info.name, operation: OPERATION_BY_KIND[handle.info.kind], input, reason: cmd.reason ?? '' };
  const decision = decide(deps.policy(), principal, action, handle.info, facts, { time: deps.clock.now(), request: { surface: 'simulate' } });
  return { principal: principal.id, decision, facts, digest: actionDigest(principal, handle.info, action) };
}

/**
 * simulate, with a long SQL text analysed first off the thread that answers everyone (as a submitted one is), under
 * the caller's share of the analysis thread: for the REST API and the console, where 1,000,000 characters parsed in
 * place held every other call.
 *
 * @example
 * const s = await simulateSoon(deps, { caller: alice, connection: 'orders-db', input: { sql } });
 */
export async function simulateSoon(deps: Pick<Deps, 'identity' | 'connections' | 'policy' | 'clock'>, cmd: SimulateCommand): Promise<Simulation> {
  simulatedPrincipal(deps, cmd);
  const handle = deps.connections.get(cmd.connection);
  if (handle?.prepareFacts) {
    let input;
    try {
      input = parseInput(handle.info.kind, cmd.input);
    } catch {
      return simulate(deps, cmd); // refused there, as it says
    }
    await handle.prepareFacts(input, cmd.caller.id);
  }
  return simulate(deps, cmd);
}

/** Whom the simulation is for: the caller, or (for a human only) the principal it names. */
function simulatedPrincipal(deps: Pick<Deps, 'identity'>, cmd: SimulateCommand): Principal {
  if (cmd.as === undefined || cmd.as === cmd.caller.id) return cmd.caller;
  if (cmd.caller.kind !== 'human') throw new CountersignError('FORBIDDEN', 'an agent may only simulate as itself');
  const p = deps.identity.principal(cmd.as);
  if (!p) throw new CountersignError('UNKNOWN_PRINCIPAL', `no principal ${cmd.as}`);
  return p;
}
