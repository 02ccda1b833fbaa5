// startTransfer Lambda: the trigger in front of the state machine. One function for three event kinds:
//   - S3 event notifications (Records[].s3) and EventBridge "Object Created" events from S3: each routed
//     object (TRANSFER_ROUTES) starts one execution, named from the event so a redelivery starts nothing;
//   - API Gateway HTTP API (payload 2.0) POST /transfers with a TransferInput body: 202 with the
//     execution, 200 `alreadyStarted` for a repeated Idempotency-Key, errors as JSON `{ error, message }`.
// The HTTP branch runs behind middy's http middlewares; an S3 event's failure is thrown, so Lambda retries
// it (the objects that did start dedupe by name). Every StartExecution runs inside the invocation's request
// budget (its remaining time less 5 s): a Step Functions that never answers ends in
// Transfer.StartUnavailable (503 with Retry-After; thrown for an S3 event) before the Lambda's timeout. An event of no known shape can never succeed, so it is
// logged as an error and answered, not thrown: Lambda's retries of an asynchronous invocation (EventBridge,
// S3) would only repeat it, and Lambda has no non-retryable error. A request of another API Gateway or
// load balancer payload gets a JSON 500 naming the required payload format.
import { SFNClient } from '@aws-sdk/client-sfn';
import middy from '@middy/core';
import type { MiddlewareObj } from '@middy/core';
import httpErrorHandler from '@middy/http-error-handler';
import httpHeaderNormalizer from '@middy/http-header-normalizer';
import httpJsonBodyParser from '@middy/http-json-body-parser';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import type { LambdaContextLike } from '../src/transfer/contract.ts';
import { ConfigurationError } from '../src/transfer/errors.ts';
import { createJsonLogger, errorFields } from '../src/transfer/logger.ts';
import { portLogger, processTelemetry, withTelemetry } from './observability.ts';
import type { Logger } from '../src/transfer/logger.ts';
import { bodyTooLarge, httpErrorFor, isTransfersRoute, jsonResponse, statusUrlFor, topLevelKeys } from '../src/trigger/http.ts';
import { startTransferFromRequest, startTransfersForS3Event } from '../src/trigger/start.ts';
import type { S3TriggerResult, TriggerDeps } from '../src/trigger/start.ts';
import { ACCEPTED_EVENTS, triggerEventKind } from '../src/trigger/events.ts';
import { routesFromEnv } from '../src/trigger/routes.ts';
import { deadlineOf } from '../src/transfer/deadline.ts';
import type { DeadlineSource } from '../src/transfer/deadline.ts';
import { DEFAULT_SETTINGS } from '../src/transfer/settings.ts';
import { deadlineFromEnv, withinInvocationBudget } from './task.ts';

/**
 * The trigger's dependencies, the logger optional (a JSON logger by default), and the invocation's
 * deadline (default: its remaining time less the default finish margin).
 */
export type StartTransferDeps = Omit<TriggerDeps, 'logger'> & { logger?: Logger; deadline?: DeadlineSource };

type Env = Record<string, string | undefined>;

/**
 * From the Lambda environment: STATE_MACHINE_ARN (required), BULK_STATE_MACHINE_ARN (optional: bulk runs
 * from POST /transfers), TRANSFER_ROUTES (JSON, default none), SFN_ENDPOINT (optional).
 */
export function startTransferDepsFromEnv(env: Env = process.env): StartTransferDeps {
  const stateMachineArn = env.STATE_MACHINE_ARN;
  if (!stateMachineArn) throw new ConfigurationError('STATE_MACHINE_ARN is not set: the ARN of the transfer state machine');
  const routes = routesFromEnv(env);
  const sfn = new SFNClient(env.SFN_ENDPOINT ? { endpoint: env.SFN_ENDPOINT } : {});
  return {
    sfn: processTelemetry().tracer.captureAWSv3Client(sfn),
    stateMachineArn,
    ...(env.BULK_STATE_MACHINE_ARN ? { bulkStateMachineArn: env.BULK_STATE_MACHINE_ARN } : {}),
    routes,
    logger: portLogger(processTelemetry().logger),
    deadline: deadlineFromEnv(env),
  };
}

export type StartTransferEvent = unknown;
export type StartTransferResult = S3TriggerResult | APIGatewayProxyStructuredResultV2;
export type StartTransferHandler = (event: StartTransferEvent, context: LambdaContextLike) => Promise<StartTransferResult>;
type DepsSource = StartTransferDeps | (() => StartTransferDeps);
type ResolvedDeps = TriggerDeps & Pick<StartTransferDeps, 'deadline'>;
const defaultDeadline: DeadlineSource = (context) => deadlineOf(context, DEFAULT_SETTINGS);

/** Turns any error into a JSON http error for http-error-handler, and logs it (no bodies, no headers). */
function jsonErrors(log: (context: Context) => Logger): MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2> {
  return {
    onError: (request) => {
      const err = request.error;
      const mapped = httpErrorFor(err, request.context.awsRequestId);
      const level = mapped.statusCode >= 500 ? 'error' : 'info';
      log(request.context)[level]('POST /transfers refused', { status: mapped.statusCode, error: errorFields(err) });
      request.error = mapped;
    },
  };
}

/** 404 for anything but POST /transfers and 413 for a body too large, before the body is parsed. */
function onlyTransfersRoute(): MiddlewareObj<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2> {
  return {
    before: (request) => {
      const { event } = request;
      if (isTransfersRoute(event)) return bodyTooLarge(event);
      return jsonResponse(404, { error: 'Http.NotFound', message: `No route ${event.requestContext.http.method} ${event.rawPath}: use POST /transfers` });
    },
  };
}

/**
 * `fallbackLogger` logs what happens when the deps give no logger or cannot be built (a configuration
 * error): in Lambda, Powertools, so that such a line has the request id and cold start like every other.
 */
export function makeStartTransferHandler(depsSource: DepsSource, makeFallbackLogger: () => Logger = () => createJsonLogger()): StartTransferHandler {
  let fallbackLogger: Logger | undefined;
  const resolve = (): ResolvedDeps => {
    const d = typeof depsSource === 'function' ? depsSource() : depsSource;
    fallbackLogger ??= makeFallbackLogger();
    return { ...d, logger: d.logger ?? fallbackLogger };
  };
  const tryResolve = (): ResolvedDeps | undefined => {
    try {
      return resolve();
    } catch {
      return undefined; // a configuration error: logged through the fallback logger
    }
  };
  /** Runs `work` inside the invocation's request budget. */
  const budgeted = <T>(deps: StartTransferDeps, context: LambdaContextLike, work: () => Promise<T>): Promise<T> =>
    withinInvocationBudget((deps.deadline ?? defaultDeadline)(context), work);
  const invocationLogger = (context: { awsRequestId: string }, deps?: TriggerDeps): Logger =>
    (deps?.logger ?? (fallbackLogger ??= makeFallbackLogger())).child({ task: 'StartTransfer', requestId: context.awsRequestId });

  const http = middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>({ timeoutEarlyInMillis: 0 })
    .use(onlyTransfersRoute())
    .use(httpHeaderNormalizer())
    .use(httpJsonBodyParser())
    .use(httpErrorHandler({ logger: false, fallbackMessage: JSON.stringify({ error: 'Internal', message: 'Internal error' }) }))
    .use(jsonErrors((context) => invocationLogger(context, tryResolve())))
    .handler(async (event: APIGatewayProxyEventV2, context: Context) => {
      const deps = resolve();
      const logger = invocationLogger(context, deps);
      const key = event.headers?.['idempotency-key'];
      const result = await budgeted(deps, context, () => startTransferFromRequest(event.body as unknown, key, { ...deps, logger }));
      const { alreadyStarted, ...execution } = result;
      const answer = { name: execution.executionName, ...execution, statusUrl: statusUrlFor(event, execution.executionName) };
      return alreadyStarted ? jsonResponse(200, { ...answer, alreadyStarted: true }) : jsonResponse(202, answer);
    });

  const s3 = middy<unknown, S3TriggerResult>({ timeoutEarlyInMillis: 0 }).handler(async (event: unknown, context: Context) => {
    const kind = triggerEventKind(event);
    if (kind === 's3-test-event') {
      invocationLogger(context, tryResolve()).info('S3 test event ignored');
      return { outcomes: [], started: 0, alreadyStarted: 0, skipped: 0 };
    }
    if (kind !== 's3-notification' && kind !== 'eventbridge') {
      // Logged and answered, not thrown: Lambda would retry an event that can never succeed.
      invocationLogger(context, tryResolve()).error('unrecognized event ignored', { reason: ACCEPTED_EVENTS, eventKeys: topLevelKeys(event) });
      return { outcomes: [{ status: 'skipped', reason: `unrecognized event: ${ACCEPTED_EVENTS}` }], started: 0, alreadyStarted: 0, skipped: 1 };
    }
    const deps = tryResolve();
    const logger = invocationLogger(context, deps);
    try {
      const given = deps ?? resolve();
      const result = await budgeted(given, context, () => startTransfersForS3Event(event, kind, { ...given, logger }));
      logger.info('S3 event handled', { via: kind, started: result.started, alreadyStarted: result.alreadyStarted, skipped: result.skipped });
      return result;
    } catch (err) {
      logger.error('S3 event failed', { via: kind, error: errorFields(err) });
      throw err;
    }
  });

  return async (event, context) => {
    const kind = triggerEventKind(event);
    if (kind === 'http') return http(event as APIGatewayProxyEventV2, context as Context);
    if (kind === 'http-unsupported') {
      invocationLogger(context, tryResolve()).error('request of an unsupported payload format refused', { eventKeys: topLevelKeys(event) });
      return jsonResponse(500, { error: 'Transfer.ConfigurationError', message: `The API integration is misconfigured (request ${context.awsRequestId}): ${ACCEPTED_EVENTS}` });
    }
    return s3(event, context as Context);
  };
}

let processDeps: StartTransferDeps | undefined;
/** Built on the first invocation and kept for warm ones; a configuration error is thrown (and retried) each time. */
export function defaultStartTransferDeps(): StartTransferDeps {
  processDeps ??= startTransferDepsFromEnv();
  return processDeps;
}

// In Lambda: Powertools logs (cold start, request id), metrics and traces around every event kind. The
// event itself is never logged: a POST /transfers request carries the caller's SigV4 Authorization header
// and session token.
export const handler = withTelemetry(
  makeStartTransferHandler(defaultStartTransferDeps, () => portLogger(processTelemetry().logger)),
  processTelemetry,
  { eventHoldsCredentials: true },
);
