// Programmable faults: each rule counts the calls of its operation from the moment it is injected.
import { BoxApiError } from './errors.ts';
import type { FaultAction, FaultRule, Operation } from './types.ts';
import { OPERATIONS } from './types.ts';

interface ActiveRule {
  rule: FaultRule;
  calls: number;
  fired: number;
}

/** Every fault action's type (the command line offers them all but `hold`, which needs a promise). */
export const FAULT_ACTION_TYPES = [
  'status',
  'storeThenFail',
  'storeThenReset',
  'storeThenGarble',
  'corruptBody',
  'emptyListing',
  'reset',
  'partsMismatch',
  'expireToken',
  'latency',
  'hold',
] as const satisfies readonly FaultAction['type'][];
// A type added to FaultAction without its name here fails to compile.
const everyActionType: Record<FaultAction['type'], true> = Object.fromEntries(FAULT_ACTION_TYPES.map((t) => [t, true])) as Record<(typeof FAULT_ACTION_TYPES)[number], true>;
const ACTION_TYPES = new Set<string>(Object.keys(everyActionType));
/** Actions that only delay a request, which then proceeds (or meets another action). */
export function isDelay(action: FaultAction): action is Extract<FaultAction, { type: 'latency' | 'hold' }> {
  return action.type === 'latency' || action.type === 'hold';
}

/** Checks a rule that arrived as JSON (admin endpoint, command line); throws a 400 otherwise. */
export function parseFaultRule(input: unknown): FaultRule {
  const bad = (msg: string): BoxApiError => new BoxApiError(400, 'bad_request', `Invalid fault rule: ${msg}`);
  if (input === null || typeof input !== 'object') throw bad('expected an object');
  const r = input as Record<string, unknown>;
  if (typeof r.operation !== 'string' || !(OPERATIONS as readonly string[]).includes(r.operation)) {
    throw bad(`operation must be one of ${OPERATIONS.join(', ')}`);
  }
  for (const k of ['nth', 'times'] as const) {
    if (r[k] !== undefined && (typeof r[k] !== 'number' || !Number.isInteger(r[k]) || (r[k] as number) < 1)) {
      throw bad(`${k} must be a positive integer`);
    }
  }
  const a = r.action as Record<string, unknown> | undefined;
  if (a === undefined || a === null || typeof a !== 'object' || typeof a.type !== 'string' || !ACTION_TYPES.has(a.type)) {
    throw bad(`action.type must be one of ${[...ACTION_TYPES].join(', ')}`);
  }
  if ((a.type === 'status' || a.type === 'storeThenFail') && (typeof a.status !== 'number' || a.status < 100 || a.status > 599)) {
    throw bad('action.status must be an HTTP status');
  }
  if (a.type === 'latency' && (typeof a.ms !== 'number' || a.ms < 0)) throw bad('action.ms must be >= 0');
  if (a.type === 'hold' && typeof (a.until as { then?: unknown } | undefined)?.then !== 'function') {
    throw bad('action.until must be a promise (a hold is injected in-process, with faults.inject)');
  }
  return input as FaultRule;
}

export class FaultInjector {
  private rules: ActiveRule[] = [];

  inject(rule: FaultRule): void {
    this.rules.push({ rule: parseFaultRule(rule), calls: 0, fired: 0 });
  }

  clear(): void {
    this.rules = [];
  }

  list(): Array<FaultRule & { calls: number; fired: number }> {
    return this.rules.map((r) => ({ ...r.rule, calls: r.calls, fired: r.fired }));
  }

  /** Counts one call of `operation` and returns the actions that fire for it (delays first). */
  actionsFor(operation: Operation): FaultAction[] {
    const fired: FaultAction[] = [];
    for (const r of this.rules) {
      if (r.rule.operation !== operation) continue;
      r.calls += 1;
      const nth = r.rule.nth;
      const times = r.rule.times ?? (nth === undefined ? Infinity : 1);
      const due = nth === undefined ? r.fired < times : r.calls >= nth && r.calls < nth + times;
      if (due) {
        r.fired += 1;
        fired.push(r.rule.action);
      }
    }
    return fired.sort((x, y) => Number(isDelay(y)) - Number(isDelay(x)));
  }
}
