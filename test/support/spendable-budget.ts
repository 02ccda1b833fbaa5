// A request budget (src/box/budget.ts) with time left until the test spends it: tests cut requests at a
// moment they choose (once a fault proxy holds a request, once a body has handed over some bytes), so no
// clock decides when a budget ends.
import type { RequestBudget } from '../../src/box/budget.ts';
import type { Deadline } from '../../src/transfer/deadline.ts';
import { DeadlineError } from '../../src/transfer/errors.ts';

export function spendableBudget(): RequestBudget & { spend(): void } {
  const controller = new AbortController();
  return { remainingMs: () => (controller.signal.aborted ? 0 : 600_000), signal: controller.signal, spend: () => controller.abort(new Error('spent')) };
}

/** A Lambda invocation's Deadline (src/transfer/deadline.ts) that passes when the test spends it. */
export function spendableDeadline(): Deadline & { spend(): void } {
  const budget = spendableBudget();
  return {
    ...budget,
    canStart: () => !budget.signal.aborted,
    passed: () => budget.signal.aborted,
    error: (what) => new DeadlineError(`${what}; spent by the test`),
    dispose: () => undefined,
  };
}
