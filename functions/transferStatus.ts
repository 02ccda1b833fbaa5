// transferStatus Lambda: GET /transfers/{name} and GET /transfers of the HTTP API (payload 2.0, IAM
// authorization). The core is src/trigger/status.ts; its role may only DescribeExecution,
// ListExecutions, GetExecutionHistory (transfers and bulk runs), ListMapRuns and DescribeMapRun (a running
// bulk run's counts), and read the Box secret (for the progress of a running transfer).
// Every Step Functions and Box request runs inside the invocation's request budget (its remaining time less
// 5 s): one that never answers ends the request with 503 Transfer.StatusUnavailable and Retry-After before
// the Lambda's timeout; a progress count cut that way is reported `unavailable` beside the known status.
import { SFNClient } from '@aws-sdk/client-sfn';
import middy from '@middy/core';
import httpErrorHandler from '@middy/http-error-handler';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2, Context } from 'aws-lambda';
import { BoxClient } from '../src/box/index.ts';
import type { LambdaContextLike } from '../src/transfer/contract.ts';
import { deadlineOf } from '../src/transfer/deadline.ts';
import type { DeadlineSource } from '../src/transfer/deadline.ts';
import { ConfigurationError, DeadlineError, InvalidInputError } from '../src/transfer/errors.ts';
import { createJsonLogger, errorFields } from '../src/transfer/logger.ts';
import type { Logger } from '../src/transfer/logger.ts';
import { httpError, jsonResponse } from '../src/trigger/http.ts';
import type { HttpError } from '../src/trigger/http.ts';
import { getTransferStatus, listTransfers, parseListQuery, TransferNotFoundError } from '../src/trigger/status.ts';
import type { StatusDeps } from '../src/trigger/status.ts';
import { DEFAULT_SETTINGS } from '../src/transfer/settings.ts';
import { loadBoxAuth, once } from './deps.ts';
import { deadlineFromEnv, withinInvocationBudget } from './task.ts';

type Env = Record<string, string | undefined>;
/** The status reader's dependencies, and the invocation's deadline (default: its remaining time less the default finish margin). */
export type TransferStatusDeps = StatusDeps & { logger?: Logger; deadline?: DeadlineSource };

/** From the Lambda environment: STATE_MACHINE_ARN (required), BULK_STATE_MACHINE_ARN, SFN_ENDPOINT, and the Box settings. */
function transferStatusDepsFromEnv(env: Env = process.env): TransferStatusDeps {
  const stateMachineArn = env.STATE_MACHINE_ARN;
  if (!stateMachineArn) throw new ConfigurationError('STATE_MACHINE_ARN is not set: the ARN of the transfer state machine');
  const sfn = new SFNClient(env.SFN_ENDPOINT ? { endpoint: env.SFN_ENDPOINT } : {});
  const box = once(async () =>
    new BoxClient({
      auth: await loadBoxAuth(env),
      ...(env.BOX_API_URL ? { apiUrl: env.BOX_API_URL } : {}),
      ...(env.BOX_UPLOAD_URL ? { uploadUrl: env.BOX_UPLOAD_URL } : {}),
    }),
  );
  return { sfn, stateMachineArn, ...(env.BULK_STATE_MACHINE_ARN ? { bulkStateMachineArn: env.BULK_STATE_MACHINE_ARN } : {}), box, deadline: deadlineFromEnv(env) };
}

const THROTTLED = new Set(['ThrottlingException', 'TooManyRequestsException']);

function statusError(err: unknown, requestId: string): HttpError {
  if (err instanceof InvalidInputError) return httpError(400, err.name, err.message);
  if (err instanceof TransferNotFoundError) return httpError(404, err.name, err.message);
  const name = (err as { name?: string } | undefined)?.name ?? '';
  if (THROTTLED.has(name)) return httpError(503, 'Transfer.StatusThrottled', 'Step Functions throttled the request: try again', { 'Retry-After': '1' });
  if (err instanceof DeadlineError) {
    return httpError(503, 'Transfer.StatusUnavailable', "Step Functions did not answer before the function's time was nearly up: try again", { 'Retry-After': '1' });
  }
  if (err instanceof ConfigurationError) return httpError(500, err.name, `The function is misconfigured (request ${requestId}); see its logs`);
  return httpError(500, 'Internal', `Internal error (request ${requestId}); see the function's logs`);
}

export type TransferStatusHandler = (event: APIGatewayProxyEventV2, context: LambdaContextLike) => Promise<APIGatewayProxyStructuredResultV2>;

export function makeTransferStatusHandler(depsSource: TransferStatusDeps | (() => TransferStatusDeps)): TransferStatusHandler {
  const fallback = createJsonLogger();
  const handler = middy<APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2>({ timeoutEarlyInMillis: 0 })
    .use(httpErrorHandler({ logger: false, fallbackMessage: JSON.stringify({ error: 'Internal', message: 'Internal error' }) }))
    .use({
      onError: (request) => {
        const mapped = statusError(request.error, request.context.awsRequestId);
        const status = mapped.statusCode;
        fallback.child({ task: 'TransferStatus', requestId: request.context.awsRequestId })[status >= 500 ? 'error' : 'info']('status request refused', { status, error: errorFields(request.error) });
        request.error = mapped;
      },
    })
    .handler(async (event: APIGatewayProxyEventV2, context: Context) => {
      const deps = typeof depsSource === 'function' ? depsSource() : depsSource;
      return withinInvocationBudget((deps.deadline ?? defaultDeadline)(context), () => answer(deps, event));
    });
  return (event, context) => handler(event, context as Context);
}

const defaultDeadline: DeadlineSource = (context) => deadlineOf(context, DEFAULT_SETTINGS);

/** The answer to one request: GET /transfers, GET /transfers/{name}, or 404. */
async function answer(deps: TransferStatusDeps, event: APIGatewayProxyEventV2): Promise<APIGatewayProxyStructuredResultV2> {
  const method = event.requestContext.http.method;
  const path = event.rawPath ?? '';
  if (method === 'GET' && /\/transfers\/?$/.test(path)) {
    return jsonResponse(200, await listTransfers(deps, parseListQuery(event.queryStringParameters)));
  }
  const match = /\/transfers\/([^/]+)$/.exec(path);
  if (method === 'GET' && match) {
    const name = event.pathParameters?.name ?? decodeURIComponent(match[1] ?? '');
    return jsonResponse(200, await getTransferStatus(deps, name));
  }
  return jsonResponse(404, { error: 'Http.NotFound', message: `No route ${method} ${path}: use GET /transfers/{name} or GET /transfers` });
}

let processDeps: TransferStatusDeps | undefined;
export const handler = makeTransferStatusHandler(() => (processDeps ??= transferStatusDepsFromEnv()));
