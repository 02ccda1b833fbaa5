/* eslint-disable @typescript-eslint/no-explicit-any -- JSON answers are read untyped */
// The HTTP and trigger entry points inside the request budget: startTransfer (POST /transfers and S3
// events), transferStatus (Step Functions reads, Box's list parts) and the replay tool (SQS, StartExecution),
// each with its real SDK client or Box client against a loopback server that holds the request and never
// answers (a fault proxy in front of the local Step Functions API or SQS; the Box emulator's hold). Each
// budget is spent by the test once the server holds the request, so no clock decides the outcome; the
// tests with a real Lambda context (its remaining time less the 5 s margin) hold the request for ever, so
// the outcome is the same however early or late the budget ends.
import { SFNClient } from '@aws-sdk/client-sfn';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { makeStartTransferHandler } from '../../functions/startTransfer.ts';
import type { StartTransferDeps } from '../../functions/startTransfer.ts';
import { makeTransferStatusHandler } from '../../functions/transferStatus.ts';
import { runReplayCommand } from '../../local/cli/replay.ts';
import { invokeAsync } from '../../local/lambda/async-invoke.ts';
import { startLocalSqs } from '../../local/sqs/index.ts';
import type { LocalSqs } from '../../local/sqs/index.ts';
import type { OnFailureRecord } from '../../src/trigger/replay.ts';
import { replayFailedEvents } from '../../src/trigger/replay.ts';
import { silentLogger } from '../../src/transfer/logger.ts';
import { parseRoutes } from '../../src/trigger/routes.ts';
import { rejection } from '../support/rejection.ts';
import { startS3FaultProxy } from '../support/s3-fault-proxy.ts';
import type { S3FaultProxy } from '../support/s3-fault-proxy.ts';
import { spendableBudget, spendableDeadline } from '../support/spendable-budget.ts';
import { httpEvent, lambdaContext, s3Notification } from './events.ts';
import { BUCKET, startTriggerEnv } from './harness.ts';
import type { TriggerEnv } from './harness.ts';

const never = new Promise<void>(() => undefined);
const CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' };
/** A Lambda context with `ms` of request budget left (the finish margin is 5 s). */
const budgetLeft = (ms: number) => ({ ...lambdaContext(), getRemainingTimeInMillis: () => 5_000 + ms });

let env: TriggerEnv;
let proxy: S3FaultProxy;
let sfn: SFNClient;
beforeEach(async () => {
  env = await startTriggerEnv();
  // Step Functions through the proxy: requests pass unchanged unless a test holds them.
  proxy = await startS3FaultProxy(env.sfnServer.endpoint);
  sfn = new SFNClient({ endpoint: proxy.endpoint, region: 'us-east-1', credentials: CREDENTIALS });
});
afterEach(async () => {
  sfn?.destroy();
  await proxy?.close();
  await env?.close();
});

/** Holds every request of an AWS JSON operation (e.g. `AWSStepFunctions.StartExecution`) for ever. */
function hold(target: string, times = 1_000): void {
  proxy.inject({ method: 'POST', target, times, action: { type: 'hold', until: never } });
}

/**
 * A deadline per invocation that the test spends once the proxy holds that invocation's request (the nth
 * invocation's once the proxy has held n requests in all).
 */
function spentOnceHeld(): () => ReturnType<typeof spendableDeadline> {
  let invocations = 0;
  return () => {
    const deadline = spendableDeadline();
    void proxy.stalledAtLeast(++invocations).then(() => deadline.spend());
    return deadline;
  };
}

function json(res: unknown): { statusCode: number; headers: Record<string, unknown>; body: Record<string, any> } {
  const r = res as APIGatewayProxyStructuredResultV2;
  return { statusCode: r.statusCode ?? 0, headers: (r.headers ?? {}) as Record<string, unknown>, body: JSON.parse(String(r.body)) as Record<string, any> };
}

describe('M12d startTransfer: a StartExecution that Step Functions never answers', () => {
  const routes = () => parseRoutes(JSON.stringify([{ bucket: BUCKET, prefix: 'inbox/', folderId: env.folderId }]));
  const deps = (extra: Partial<StartTransferDeps> = {}): StartTransferDeps => ({ sfn, stateMachineArn: env.sfnServer.stateMachineArn, routes: routes(), logger: silentLogger, ...extra });
  const body = () => ({ source: { bucket: BUCKET, key: 'inbox/a.bin' }, destination: { folderId: env.folderId } });

  it('POST /transfers: cut by the budget, 503 Transfer.StartUnavailable with Retry-After; the retry with the same Idempotency-Key starts it once', async () => {
    hold('AWSStepFunctions.StartExecution', 1);
    const handler = makeStartTransferHandler(deps({ deadline: spentOnceHeld() }));
    const request = () => httpEvent({ body: body(), headers: { 'idempotency-key': 'nightly-1' } });
    const answer = json(await handler(request(), lambdaContext()));
    expect(answer).toMatchObject({ statusCode: 503, headers: { 'Retry-After': '1' }, body: { error: 'Transfer.StartUnavailable' } });
    expect(answer.body.message).toMatch(/did not answer StartExecution in time.*may have started.*same Idempotency-Key/);
    await proxy.abandonedAtLeast(1); // the client gave the held request up
    expect(env.sfnServer.executions()).toHaveLength(0);

    // Step Functions answers again: the same request starts the transfer, once.
    const retried = json(await handler(request(), lambdaContext()));
    expect(retried.statusCode).toBe(202);
    expect(env.sfnServer.executions()).toHaveLength(1);
  });

  it('POST /transfers with a real Lambda context: the budget (remaining time less 5 s) cuts the held request: 503', async () => {
    hold('AWSStepFunctions.StartExecution');
    const handler = makeStartTransferHandler(deps());
    const answer = json(await handler(httpEvent({ body: body() }), budgetLeft(300)));
    expect(answer).toMatchObject({ statusCode: 503, headers: { 'Retry-After': '1' }, body: { error: 'Transfer.StartUnavailable' } });
  });

  it('S3 event: thrown as Transfer.StartUnavailable, so Lambda retries it and its on-failure destination keeps it', { timeout: 60_000 }, async () => {
    const sqsServer = await startLocalSqs();
    const sqs = new SQSClient({ endpoint: sqsServer.endpoint, region: 'us-east-1', credentials: CREDENTIALS });
    try {
      hold('AWSStepFunctions.StartExecution');
      const event = s3Notification([{ bucket: BUCKET, key: 'inbox/a.bin', sequencer: '0A' }]);
      const handler = makeStartTransferHandler(deps({ deadline: spentOnceHeld() }));
      expect(await rejection(handler(event, lambdaContext()))).toMatchObject({ name: 'Transfer.StartUnavailable' });

      // As Lambda invokes it asynchronously: three attempts, each cut, then the on-failure record.
      const queueUrl = sqsServer.queueUrl('trigger-failures');
      const invoked = await invokeAsync(handler, event, { onFailure: { sqs, queueUrl } });
      expect(invoked).toMatchObject({ outcome: 'sent-to-on-failure-destination', attempts: 3, error: { name: 'Transfer.StartUnavailable' } });
      expect(proxy.stats().stalled).toBe(4);
      await proxy.abandonedAtLeast(4);
      const queued = sqsServer.bodies('trigger-failures').map((b) => JSON.parse(b) as OnFailureRecord);
      expect(queued).toMatchObject([{ requestPayload: event, responsePayload: { errorType: 'Transfer.StartUnavailable' } }]);
      expect(env.sfnServer.executions()).toHaveLength(0);

      // With a real Lambda context too.
      const real = makeStartTransferHandler(deps());
      expect(await rejection(real(event, budgetLeft(300)))).toMatchObject({ name: 'Transfer.StartUnavailable' });
    } finally {
      sqs.destroy();
      await sqsServer.close();
    }
  });
});

describe('M12d transferStatus: Step Functions or Box never answers', () => {
  const statusHandler = (extra: { deadline?: () => ReturnType<typeof spendableDeadline> } = {}) =>
    makeTransferStatusHandler({ sfn, stateMachineArn: env.sfnServer.stateMachineArn, box: async () => env.boxClient, ...extra });
  const get = (path: string) => httpEvent({ method: 'GET', path });

  it('DescribeExecution or ListExecutions held: 503 Transfer.StatusUnavailable with Retry-After, before the Lambda timeout', async () => {
    hold('AWSStepFunctions.DescribeExecution', 1);
    hold('AWSStepFunctions.ListExecutions', 1);
    const handler = statusHandler({ deadline: spentOnceHeld() });
    for (const path of ['/transfers/some-transfer', '/transfers']) {
      const answer = json(await handler(get(path), lambdaContext()));
      expect(answer).toMatchObject({ statusCode: 503, headers: { 'Retry-After': '1' }, body: { error: 'Transfer.StatusUnavailable' } });
      expect(answer.body.message).toMatch(/Step Functions did not answer/);
    }
    await proxy.abandonedAtLeast(2);
    // The same requests answer once Step Functions does.
    expect(json(await handler(get('/transfers/some-transfer'), lambdaContext())).statusCode).toBe(404);
    expect(json(await handler(get('/transfers'), lambdaContext())).statusCode).toBe(200);
    // With a real Lambda context: the budget cuts a request held for ever.
    hold('AWSStepFunctions.DescribeExecution');
    expect(json(await statusHandler()(get('/transfers/other'), budgetLeft(300))).body).toMatchObject({ error: 'Transfer.StatusUnavailable' });
  });

  it('a running transfer: Box\'s list parts held answers the status with progress unavailable; its history held answers 503', { timeout: 60_000 }, async () => {
    await env.put('inbox/big.bin', 6 * 64 * 1024);
    const held = env.holdNextCurrentCheck(); // the transfer waits before its commit, every part stored
    const started = json(await env.handler(httpEvent({ body: { source: { bucket: BUCKET, key: 'inbox/big.bin', onlyIfCurrent: true }, destination: { folderId: env.folderId } } }), lambdaContext()));
    expect(started.statusCode).toBe(202);
    await held.reached;
    try {
      let release!: () => void;
      env.box.faults.inject({ operation: 'listParts', nth: 1, times: 1, action: { type: 'hold', until: new Promise<void>((resolve) => (release = resolve)) } });
      const listsBefore = env.box.stats().requests.listParts;
      const deadline = spendableDeadline();
      const answering = statusHandler({ deadline: () => deadline })(get(`/transfers/${started.body.name as string}`), lambdaContext());
      await vi.waitFor(() => expect(env.box.stats().requests.listParts).toBe(listsBefore + 1), { timeout: 30_000, interval: 10 });
      deadline.spend();
      const answer = json(await answering);
      release();
      expect(answer.statusCode).toBe(200);
      expect(answer.body).toMatchObject({ status: 'RUNNING', progress: { mode: 'chunked', totalParts: 6 } });
      expect(answer.body.progress.partsStored).toBeUndefined();
      expect(answer.body.progress.unavailable).toMatch(/^Transfer\.Deadline: Box did not answer/);

      hold('AWSStepFunctions.GetExecutionHistory', 1);
      const history = json(await statusHandler({ deadline: spentOnceHeld() })(get(`/transfers/${started.body.name as string}`), lambdaContext()));
      expect(history).toMatchObject({ statusCode: 503, body: { error: 'Transfer.StatusUnavailable' } });
      // Answered again: the parts count is back.
      const again = json(await statusHandler()(get(`/transfers/${started.body.name as string}`), lambdaContext()));
      expect(again.body.progress).toMatchObject({ partsStored: 6, totalParts: 6 });
    } finally {
      held.release();
    }
    await env.waitForExecution(started.body.executionArn as string);
  });
});

describe('M12d the replay tool: SQS or Step Functions never answers', () => {
  let sqsServer: LocalSqs;
  let sqsProxy: S3FaultProxy;
  let sqs: SQSClient;
  beforeEach(async () => {
    sqsServer = await startLocalSqs();
    sqsProxy = await startS3FaultProxy(sqsServer.endpoint);
    sqs = new SQSClient({ endpoint: sqsProxy.endpoint, region: 'us-east-1', credentials: CREDENTIALS });
  });
  afterEach(async () => {
    sqs?.destroy();
    await sqsProxy?.close();
    await sqsServer?.close();
  });

  /** Queues the on-failure record of an S3 event for `key` (as Lambda would after three failed attempts). */
  async function queued(queueUrl: string, key: string): Promise<void> {
    await env.put(key, 100);
    const direct = new SQSClient({ endpoint: sqsServer.endpoint, region: 'us-east-1', credentials: CREDENTIALS });
    try {
      await invokeAsync(async () => {
        throw new Error('Step Functions was down');
      }, env.s3Events.at(-1), { onFailure: { sqs: direct, queueUrl } });
    } finally {
      direct.destroy();
    }
  }

  /** Budgets, one per request, each spent once `server` holds a request of the replay. */
  function budgetsSpentOnceHeld(server: S3FaultProxy) {
    return () => {
      const budget = spendableBudget();
      const heldBefore = server.stats().stalled;
      void server.stalledAtLeast(heldBefore + 1).then(() => budget.spend());
      return { ...budget, dispose: () => undefined };
    };
  }

  const replayDeps = (queueUrl: string) => ({
    sfn,
    stateMachineArn: env.sfnServer.stateMachineArn,
    routes: parseRoutes(JSON.stringify([{ bucket: BUCKET, prefix: 'inbox/', folderId: env.folderId }])),
    logger: silentLogger,
    sqs,
    queueUrl,
  });

  it('ReceiveMessage held: the replay stops with the reason; the queued event stays', async () => {
    const queueUrl = sqsServer.queueUrl('q-receive');
    await queued(queueUrl, 'inbox/r.bin');
    sqsProxy.inject({ method: 'POST', target: 'AmazonSQS.ReceiveMessage', times: 1, action: { type: 'hold', until: never } });
    const summary = await replayFailedEvents(replayDeps(queueUrl), { requestBudget: budgetsSpentOnceHeld(sqsProxy) });
    expect(summary).toMatchObject({ replayed: 0, failed: 0, unreadable: 0, messages: [] });
    expect(summary.stopped).toMatch(/^SQS did not answer ReceiveMessage within 60 s: replaying stopped/);
    await sqsProxy.abandonedAtLeast(1);
    expect(sqsServer.bodies('q-receive')).toHaveLength(1);
    // SQS answers again: the event is replayed.
    expect(await replayFailedEvents(replayDeps(queueUrl))).toMatchObject({ replayed: 1, messages: [{ started: 1 }] });
    expect(sqsServer.bodies('q-receive')).toHaveLength(0);
  });

  it('StartExecution held: that event fails and stays queued, the replay stops; DeleteMessage held: started, kept, replayed again without a second start', async () => {
    const queueUrl = sqsServer.queueUrl('q-start');
    await queued(queueUrl, 'inbox/s1.bin');
    await queued(queueUrl, 'inbox/s2.bin');
    hold('AWSStepFunctions.StartExecution', 1);
    const summary = await replayFailedEvents(replayDeps(queueUrl), { requestBudget: budgetsSpentOnceHeld(proxy), visibilityTimeoutSeconds: 0 });
    expect(summary).toMatchObject({ replayed: 0, failed: 1, messages: [{ outcome: 'failed' }] });
    expect(summary.messages[0]?.error).toMatch(/^Transfer\.StartUnavailable: Step Functions did not answer StartExecution in time/);
    expect(summary.stopped).toMatch(/^Step Functions did not answer StartExecution within 60 s: replaying stopped/);
    expect(proxy.stats().stalled).toBe(1); // the second event was not tried
    expect(sqsServer.bodies('q-start')).toHaveLength(2);
    expect(env.sfnServer.executions()).toHaveLength(0);

    sqsProxy.inject({ method: 'POST', target: 'AmazonSQS.DeleteMessage', times: 1, action: { type: 'hold', until: never } });
    const deleting = await replayFailedEvents(replayDeps(queueUrl), { requestBudget: budgetsSpentOnceHeld(sqsProxy), maxMessages: 1, visibilityTimeoutSeconds: 0 });
    expect(deleting).toMatchObject({ replayed: 0, failed: 1 });
    expect(deleting.messages[0]?.error).toMatch(/^Transfer\.Deadline: DeleteMessage .*its transfers started, and replaying it again starts nothing twice$/);
    expect(deleting.stopped).toMatch(/^SQS did not answer DeleteMessage within 60 s/);
    expect(env.sfnServer.executions()).toHaveLength(1);
    expect(sqsServer.bodies('q-start')).toHaveLength(2);

    const rest = await replayFailedEvents(replayDeps(queueUrl));
    expect(rest).toMatchObject({ replayed: 2, failed: 0 });
    expect(env.sfnServer.executions()).toHaveLength(2); // the event whose delete was cut started nothing twice
    expect(sqsServer.bodies('q-start')).toHaveLength(0);
  });

  it('s3-to-box replay-failed-events --request-timeout: a held ReceiveMessage ends with a message and exit status 1', async () => {
    const queueUrl = sqsServer.queueUrl('q-cli');
    await queued(queueUrl, 'inbox/c.bin');
    sqsProxy.inject({ method: 'POST', target: 'AmazonSQS.ReceiveMessage', times: 1_000, action: { type: 'hold', until: never } });
    const errors: string[] = [];
    const error = vi.spyOn(console, 'error').mockImplementation((line: string) => void errors.push(line));
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'local');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'local');
    try {
      const code = await runReplayCommand({
        queueUrl,
        stateMachineArn: env.sfnServer.stateMachineArn,
        routes: JSON.stringify([{ bucket: BUCKET, prefix: 'inbox/', folderId: env.folderId }]),
        region: 'us-east-1',
        sqsEndpoint: sqsProxy.endpoint,
        sfnEndpoint: env.sfnServer.endpoint,
        requestTimeout: 1,
      });
      expect(code).toBe(1);
      expect(errors.at(-1)).toBe('SQS did not answer ReceiveMessage within 1 s: replaying stopped; the messages not replayed stay in the queue (--request-timeout 1); run it again once the service answers');
    } finally {
      error.mockRestore();
      log.mockRestore();
      vi.unstubAllEnvs();
    }
    expect(sqsServer.bodies('q-cli')).toHaveLength(1);
  });
});
