// The time one invocation may still spend on Box requests (and the AWS SDK's: src/transfer/request-budget.ts), bound to
// its async context: a Lambda handler runs its work inside withRequestBudget, and every request the
// shared client makes for that work (and only for it: other invocations in the same process have their
// own context) is cancelled when the budget's signal fires, and never waits for a retry that would end
// after the budget. The retryable
// error is then thrown at once (the state machine's Retry waits instead), so the client's worst-case
// retry time always fits the invocation: no Lambda is killed mid-request by its own timeout.
import { AsyncLocalStorage } from 'node:async_hooks';

export interface RequestBudget {
  /** Milliseconds left for requests and retry waits (the invocation's remaining time minus a margin). */
  remainingMs(): number;
  /** Fires when the budget is spent: requests in flight are cancelled, none starts. */
  signal: AbortSignal;
}

const budgets = new AsyncLocalStorage<RequestBudget>();

/** Runs `work` with `budget` bounding every Box request it makes. */
export function withRequestBudget<T>(budget: RequestBudget, work: () => Promise<T>): Promise<T> {
  return budgets.run(budget, work);
}

/** The budget of the work this call belongs to, if any. */
export function currentRequestBudget(): RequestBudget | undefined {
  return budgets.getStore();
}

/**
 * Runs `work` outside any invocation's budget: for work shared by every invocation in the process (the
 * one token renewal all requests wait on), which one invocation's deadline must not cancel. Each waiter
 * still races the shared promise against its own signal.
 */
export function outsideRequestBudget<T>(work: () => T): T {
  return budgets.exit(work);
}
