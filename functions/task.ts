// The shared shape of every task handler: a middy handler that builds a per-invocation logger
// (request id, execution id if the state machine passes one, object and session ids), calls the
// core function from src/transfer, and logs the outcome. Errors pass through with their `name`.
import middy from '@middy/core';
import type { Context } from 'aws-lambda';
import type { LambdaContextLike } from '../src/transfer/contract.ts';
import type { TransferDeps } from '../src/transfer/deps.ts';
import { createJsonLogger, errorFields } from '../src/transfer/logger.ts';
import type { LogFields } from '../src/transfer/logger.ts';
import { resolveSettings } from '../src/transfer/settings.ts';
import type { HandlerDeps } from './deps.ts';

export type { LambdaContextLike };
export type TaskHandler<E, R> = (event: E, context: LambdaContextLike) => Promise<R>;
export type DepsSource = HandlerDeps | (() => HandlerDeps);

let fallbackLogger: ReturnType<typeof createJsonLogger> | undefined;

/** Fields every line of one invocation carries; tolerant of malformed events. */
export function transferFields(event: unknown): LogFields {
  const e = (event ?? {}) as {
    executionId?: unknown;
    transfer?: { source?: { bucket?: unknown; key?: unknown }; session?: { id?: unknown } };
  };
  return {
    executionId: typeof e.executionId === 'string' ? e.executionId : undefined,
    bucket: e.transfer?.source?.bucket,
    key: e.transfer?.source?.key,
    sessionId: e.transfer?.session?.id,
  };
}

export function makeTask<E, R>(
  task: string,
  depsSource: DepsSource,
  core: (event: E, deps: TransferDeps, context: LambdaContextLike) => Promise<R>,
  fields: (event: E) => LogFields = transferFields,
  summary: (result: R) => LogFields = () => ({}),
): TaskHandler<E, R> {
  // The cores watch their own deadline (HashObject) and the state machine sets TimeoutSeconds,
  // so middy's early-timeout race (which would leave the core running) is off. (middy reads its plugin
  // options from the first argument when no handler is given there; a second argument would be ignored.)
  const handler = middy<E, R>({ timeoutEarlyInMillis: 0 }).handler(async (event: E, context: Context) => {
    const hd = typeof depsSource === 'function' ? depsSource() : depsSource;
    fallbackLogger ??= createJsonLogger();
    const logger = (hd.logger ?? fallbackLogger).child({ task, requestId: context.awsRequestId, ...fields(event) });
    const deps: TransferDeps = { s3: hd.s3, box: hd.box, settings: resolveSettings(hd.settings), logger, onProgress: hd.onProgress };
    const started = Date.now();
    try {
      const result = await core(event, deps, context);
      logger.info(`${task} succeeded`, { ms: Date.now() - started, ...summary(result) });
      return result;
    } catch (err) {
      logger.error(`${task} failed`, { ms: Date.now() - started, error: errorFields(err) });
      throw err;
    }
  });
  return (event, context) => handler(event, context as Context);
}
