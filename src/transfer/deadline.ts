// The invocation's deadline, for Lambdas that do network work: stop starting new work when little time
// is left, and cancel what is still in flight just before the timeout, so that Lambda never kills an
// invocation in the middle of a request (its answer would be lost and its work unaccounted for).
import type { LambdaContextLike } from './contract.ts';
import { DeadlineError } from './errors.ts';
import type { TransferSettings } from './settings.ts';

export interface Deadline {
  /** True while there is time to start another unit of work. */
  canStart(): boolean;
  /** Fires `deadlineFinishMarginMs` before the deadline (never, without a context). */
  signal: AbortSignal;
  /** True once `signal` fired. */
  passed(): boolean;
  /** Milliseconds until `signal` fires (infinite without a context): what requests and retry waits may still use. */
  remainingMs(): number;
  /** The named, retried error the invocation ends with when it stopped early. */
  error(what: string): DeadlineError;
  /** Stops the timer (call when the invocation ends). */
  dispose(): void;
}

/** An invocation's deadline from its context (a test gives one that passes at a moment it chooses). */
export type DeadlineSource = (context: LambdaContextLike) => Deadline;

export function deadlineOf(
  context: LambdaContextLike | undefined,
  settings: Pick<TransferSettings, 'deadlineStartMarginMs' | 'deadlineFinishMarginMs'>,
): Deadline {
  const remaining = typeof context?.getRemainingTimeInMillis === 'function' ? () => context.getRemainingTimeInMillis() : () => Number.POSITIVE_INFINITY;
  const controller = new AbortController();
  const left = remaining();
  let timer: NodeJS.Timeout | undefined;
  if (Number.isFinite(left)) {
    const ms = left - settings.deadlineFinishMarginMs;
    const stop = (): void => controller.abort(new DeadlineError(`stopped ${settings.deadlineFinishMarginMs} ms before the Lambda timeout`));
    // Already inside the margin: nothing may start, not even before a timer could fire.
    if (ms <= 0) stop();
    else {
      timer = setTimeout(stop, ms);
      timer.unref?.();
    }
  }
  return {
    canStart: () => !controller.signal.aborted && remaining() > settings.deadlineStartMarginMs,
    signal: controller.signal,
    passed: () => controller.signal.aborted,
    remainingMs: () => (controller.signal.aborted ? 0 : remaining() - settings.deadlineFinishMarginMs),
    error: (what) => new DeadlineError(`${what}; stopped before the Lambda timeout (${Math.round(remaining())} ms left), to be retried`),
    dispose: () => clearTimeout(timer),
  };
}
