// The shared shape of every task handler: a middy handler that builds a per-invocation logger
// (task, request id, execution id and name, object and session ids), calls the core function from
// src/transfer, logs the outcome and reports its metrics. Errors pass through with their `name`.
// In Lambda the dependencies carry Powertools Telemetry (functions/observability.ts); locally they don't.
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import { withRequestBudget } from '../src/box/budget.ts';
import type { LambdaContextLike } from '../src/transfer/contract.ts';
import { deadlineOf } from '../src/transfer/deadline.ts';
import type { Deadline, DeadlineSource } from '../src/transfer/deadline.ts';
import { errorFields, silentLogger } from '../src/transfer/logger.ts';
import type { LogFields, Logger } from '../src/transfer/logger.ts';
import { resolveSettings, settingsFromEnv } from '../src/transfer/settings.ts';
import type { TransferSettings } from '../src/transfer/settings.ts';
import type { BaseDeps } from './baseDeps.ts';
import type { HandlerDeps } from './deps.ts';
import { annotate, recordMeasurements, telemetryMiddleware } from './observability.ts';
import type { Measurement } from './observability.ts';

export type { LambdaContextLike };
export type TaskHandler<E, R> = (event: E, context: LambdaContextLike) => Promise<R>;
/** A handler's dependencies, or how to build them on first use: only the clients its core uses (functions/deps.ts). */
export type DepsSource<D extends BaseDeps = HandlerDeps> = D | (() => D);
/** What a core receives: the handler's clients, with the invocation's logger and resolved settings. */
export type InvocationDeps<D extends BaseDeps> = D & { settings: TransferSettings; logger: Logger };

/** The execution's name (the last segment of its ARN): what POST /transfers and the console show. */
export function executionNameOf(executionId: unknown): string | undefined {
  if (typeof executionId !== 'string' || executionId === '') return undefined;
  return executionId.slice(executionId.lastIndexOf(':') + 1);
}

/** Fields every line of one invocation carries; tolerant of malformed events. */
export function transferFields(event: unknown): LogFields {
  const e = (event ?? {}) as {
    executionId?: unknown;
    transfer?: { source?: { bucket?: unknown; key?: unknown }; session?: { id?: unknown } };
  };
  return {
    executionId: typeof e.executionId === 'string' ? e.executionId : undefined,
    executionName: executionNameOf(e.executionId),
    bucket: e.transfer?.source?.bucket,
    key: e.transfer?.source?.key,
    sessionId: e.transfer?.session?.id,
  };
}

export interface TaskOptions<E, R> {
  /** Correlation fields of the event for every log line (default transferFields). */
  fields?: (event: E) => LogFields;
  /** Fields of the result for the "succeeded" line. */
  summary?: (result: R) => LogFields;
  /** Metrics of the result (Powertools Metrics, CloudWatch EMF, in Lambda). */
  measure?: (result: R, event: E) => Measurement[];
  /** Metrics of a failed invocation (the work it did before it failed). */
  measureFailure?: (error: unknown, event: E) => Measurement[];
}

/**
 * For handlers without TransferDeps (the trigger, the status API): the invocation's deadline is its
 * remaining time less deadlineFinishMarginMs (5 s; TRANSFER_DEADLINE_FINISH_MARGIN_MS).
 */
export function deadlineFromEnv(env: Record<string, string | undefined> = process.env): DeadlineSource {
  const settings = resolveSettings(settingsFromEnv(env));
  return (context) => deadlineOf(context, settings);
}

/**
 * Runs `work` inside the invocation's request budget (src/box/budget.ts): its AWS SDK sends
 * (src/transfer/request-budget.ts) and Box requests are cut when the deadline passes. Stops the deadline's
 * timer when `work` ends.
 */
export async function withinInvocationBudget<T>(deadline: Deadline, work: () => Promise<T>): Promise<T> {
  try {
    return await withRequestBudget(deadline, work);
  } finally {
    deadline.dispose();
  }
}

export function makeTask<E, R, D extends BaseDeps = HandlerDeps>(
  task: string,
  depsSource: DepsSource<D>,
  core: (event: E, deps: InvocationDeps<D>, context: LambdaContextLike) => Promise<R>,
  options: TaskOptions<E, R> = {},
): TaskHandler<E, R> {
  const { fields = transferFields, summary = () => ({}), measure = () => [], measureFailure = () => [] } = options;
  const depsOf = (): D => (typeof depsSource === 'function' ? depsSource() : depsSource);
  // The cores watch their own deadline (HashObject) and the state machine sets TimeoutSeconds,
  // so middy's early-timeout race (which would leave the core running) is off. (middy reads its plugin
  // options from the first argument when no handler is given there; a second argument would be ignored.)
  const handler = middy<E, R>({ timeoutEarlyInMillis: 0 })
    .use(telemetryMiddleware<E, R>(() => depsOf().telemetry))
    .handler(async (event: E, context: Context) => {
      const hd = depsOf();
      const correlation = { task, requestId: context.awsRequestId, ...fields(event) };
      const logger = (hd.logger ?? silentLogger).child(correlation);
      if (hd.telemetry) annotate(hd.telemetry.tracer, correlation);
      const deps: InvocationDeps<D> = { ...hd, settings: resolveSettings(hd.settings), logger };
      const started = Date.now();
      // Every Box and S3 request of this invocation fits its Lambda timeout (src/box/budget.ts): cancelled
      // deadlineFinishMarginMs before it, and no retry wait that would end after that.
      const deadline = hd.deadline?.(context) ?? deadlineOf(context, deps.settings);
      try {
        const result = await withRequestBudget(deadline, async () => {
          try {
            return await core(event, deps, context);
          } catch (err) {
            // A request cancelled by the deadline: the named, retried error (the retry looks at what landed).
            if (deadline.passed() && (err as { name?: unknown })?.name === 'Box.Aborted') throw deadline.error(`${task}: ${(err as Error).message}`);
            throw err;
          }
        });
        logger.info(`${task} succeeded`, { ms: Date.now() - started, ...summary(result) });
        if (hd.telemetry) recordMeasurements(hd.telemetry.metrics, measure(result, event));
        return result;
      } catch (err) {
        logger.error(`${task} failed`, { ms: Date.now() - started, error: errorFields(err) });
        if (hd.telemetry) recordMeasurements(hd.telemetry.metrics, measureFailure(err, event));
        throw err;
      } finally {
        deadline.dispose();
      }
    });
  return (event, context) => handler(event, context as Context);
}
