// Any AWS SDK request (S3, Step Functions, SQS) and the read of an S3 body inside the request budget of
// the invocation it belongs to (src/box/budget.ts; the Box client honours the same budget by itself): not
// started once the budget is spent, cancelled when it is, and ended with the named Transfer.Deadline
// instead of whatever error the cut produced. Outside any budget (the CLI), requests run unchanged.
import type { Readable } from 'node:stream';
import { currentRequestBudget } from '../box/budget.ts';
import type { RequestBudget } from '../box/budget.ts';
import { DeadlineError } from './errors.ts';

/**
 * Runs one request (and the read of its body, if `work` reads it) inside the request budget of the
 * invocation it belongs to, if any: not started once the budget is spent, cancelled through its signal
 * (merged with the caller's `signal`) when it fires, and given up at that moment even while the SDK
 * sleeps between its own retries (that sleep cannot be cancelled; its next attempt then aborts at once).
 * A request the budget cut ends in Transfer.Deadline, whatever error the cut produced.
 */
export async function withinRequestBudget<T>(what: string, signal: AbortSignal | undefined, work: (signal: AbortSignal | undefined) => Promise<T>): Promise<T> {
  const budget = currentRequestBudget();
  if (budget === undefined) return work(signal);
  const cut = (cause?: unknown): DeadlineError =>
    new DeadlineError(`${what}: no answer within the request budget (in a Lambda: its time is nearly up), so the request was cancelled; a retry runs it again`, cause === undefined ? undefined : { cause });
  if (budget.signal.aborted) throw cut();
  let onSpent: (() => void) | undefined;
  const spent = new Promise<never>((_, reject) => {
    onSpent = () => reject(cut(budget.signal.reason));
    budget.signal.addEventListener('abort', onSpent, { once: true });
  });
  const running = work(signal === undefined ? budget.signal : AbortSignal.any([signal, budget.signal]));
  running.catch(() => undefined); // when the budget wins the race, the request's own rejection is nobody's
  try {
    return await Promise.race([running, spent]);
  } catch (err) {
    if (budget.signal.aborted && !(err instanceof DeadlineError)) throw cut(err);
    throw err;
  } finally {
    if (onSpent !== undefined) budget.signal.removeEventListener('abort', onSpent);
  }
}

/**
 * Inside a request budget, destroys `body` with Transfer.Deadline when the budget is spent before the
 * caller has read it to the end (call it right after the request that opened the body).
 */
export function cutAtRequestBudget(body: Readable, what: string): Readable {
  const budget = currentRequestBudget();
  if (budget === undefined) return body;
  // Registered after the SDK's own listener, which destroys the request: this error is the one the reader sees.
  const onSpent = (): void => {
    body.destroy(new DeadlineError(`${what}: the S3 body was cut because the invocation's time is nearly up; the state machine runs it again`));
  };
  if (budget.signal.aborted) onSpent();
  else {
    budget.signal.addEventListener('abort', onSpent, { once: true });
    body.once('close', () => budget.signal.removeEventListener('abort', onSpent));
  }
  return body;
}

/**
 * A budget of `ms` from now, for work outside Lambda (a command line tool): each request it bounds gets
 * no answer later than that. `dispose` stops its timer.
 */
export function timedRequestBudget(ms: number): RequestBudget & { dispose(): void } {
  const controller = new AbortController();
  const ends = Date.now() + ms;
  const timer = setTimeout(() => controller.abort(new DeadlineError(`no answer within ${ms} ms`)), ms);
  timer.unref();
  return {
    remainingMs: () => (controller.signal.aborted ? 0 : Math.max(0, ends - Date.now())),
    signal: controller.signal,
    dispose: () => clearTimeout(timer),
  };
}
