// Lambda's asynchronous invocation, as EventBridge and S3 use it, for local runs and tests: the handler
// is called, and called again on failure up to `maximumRetryAttempts` times (Lambda's default 2); an
// event whose invocations all failed goes, as Lambda's on-failure record, to the SQS queue of the
// function's on-failure destination (sent with the real SQSClient), or is dropped when there is none.
// Lambda waits about 1 and 2 minutes between the attempts; here the waits are `retryDelaysMs`.
import { randomUUID } from 'node:crypto';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { OnFailureRecord } from '../../src/trigger/replay.ts';
import type { LambdaContextLike } from '../../src/transfer/contract.ts';

export interface AsyncInvokeOptions {
  /** Default 2, as Lambda. */
  maximumRetryAttempts?: number;
  /** Waits before each retry (default none). */
  retryDelaysMs?: readonly number[];
  onFailure?: { sqs: Pick<SQSClient, 'send'>; queueUrl: string };
  functionArn?: string;
}

export interface AsyncInvokeResult {
  attempts: number;
  outcome: 'succeeded' | 'sent-to-on-failure-destination' | 'dropped';
  result?: unknown;
  error?: Error;
}

export async function invokeAsync<E>(
  handler: (event: E, context: LambdaContextLike) => Promise<unknown>,
  event: E,
  options: AsyncInvokeOptions = {},
): Promise<AsyncInvokeResult> {
  const requestId = randomUUID();
  const retries = options.maximumRetryAttempts ?? 2;
  let error: Error | undefined;
  let attempts = 0;
  for (let attempt = 0; attempt <= retries; attempt++) {
    if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, options.retryDelaysMs?.[attempt - 1] ?? 0));
    attempts += 1;
    try {
      const result = await handler(structuredClone(event), { awsRequestId: requestId, getRemainingTimeInMillis: () => 15_000 });
      return { attempts, outcome: 'succeeded', result };
    } catch (err) {
      error = err instanceof Error ? err : new Error(String(err));
    }
  }
  if (options.onFailure === undefined) return { attempts, outcome: 'dropped', ...(error ? { error } : {}) };
  const record: OnFailureRecord = {
    version: '1.0',
    timestamp: new Date().toISOString(),
    requestContext: {
      requestId,
      functionArn: options.functionArn ?? 'arn:aws:lambda:us-east-1:123456789012:function:s3-to-box-local-startTransfer:$LATEST',
      condition: 'RetriesExhausted',
      approximateInvokeCount: attempts,
    },
    requestPayload: event,
    responseContext: { statusCode: 200, executedVersion: '$LATEST', functionError: 'Unhandled' },
    responsePayload: { errorType: error?.name ?? 'Error', errorMessage: error?.message ?? '' },
  };
  await options.onFailure.sqs.send(new SendMessageCommand({ QueueUrl: options.onFailure.queueUrl, MessageBody: JSON.stringify(record) }));
  return { attempts, outcome: 'sent-to-on-failure-destination', ...(error ? { error } : {}) };
}
