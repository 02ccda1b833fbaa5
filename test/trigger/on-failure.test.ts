// None dropped: an S3 event whose StartExecution keeps failing is invoked as Lambda invokes it
// asynchronously (three attempts), lands in the on-failure queue as Lambda's on-failure record (real
// SQSClient over loopback to the local SQS stand-in), and replaying the queue once Step Functions works
// again starts its transfer and empties the queue. Replaying again starts nothing twice.
import { GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { runReplayCommand } from '../../local/cli/replay.ts';
import { invokeAsync } from '../../local/lambda/async-invoke.ts';
import { startLocalSqs } from '../../local/sqs/index.ts';
import type { LocalSqs } from '../../local/sqs/index.ts';
import { silentLogger } from '../../src/transfer/logger.ts';
import type { TransferOutput } from '../../src/transfer/contract.ts';
import { parseRoutes } from '../../src/trigger/routes.ts';
import { replayFailedEvents } from '../../src/trigger/replay.ts';
import type { OnFailureRecord } from '../../src/trigger/replay.ts';
import { BUCKET, startTriggerEnv } from './harness.ts';
import type { TriggerEnv } from './harness.ts';

let env: TriggerEnv;
let sqsServer: LocalSqs;
let sqs: SQSClient;
beforeEach(async () => {
  env = await startTriggerEnv();
  sqsServer = await startLocalSqs();
  sqs = new SQSClient({ endpoint: sqsServer.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' } });
});
afterEach(async () => {
  sqs?.destroy();
  await sqsServer?.close();
  await env?.close();
});

describe('the on-failure queue (none dropped)', () => {
  it('a StartExecution that keeps failing puts the event in the queue; replaying it starts the transfer once', { timeout: 60_000 }, async () => {
    const queueUrl = sqsServer.queueUrl('s3-to-box-local-trigger-failures');
    const put = await env.put('inbox/late.bin', 2048);
    const event = env.s3Events.at(-1);

    env.sfnServer.failStartExecution({ code: 'ServiceUnavailable', status: 503 });
    const invoked = await invokeAsync(env.handler, event, { onFailure: { sqs, queueUrl } });
    expect(invoked.outcome).toBe('sent-to-on-failure-destination');
    expect(invoked.attempts).toBe(3);
    expect(invoked.error?.name).toBe('Transfer.StartUnavailable');
    expect(env.sfnServer.executions()).toHaveLength(0);
    expect(env.sfnServer.stats().startCalls).toBeGreaterThanOrEqual(3);

    const queued = sqsServer.bodies('s3-to-box-local-trigger-failures').map((b) => JSON.parse(b) as OnFailureRecord);
    expect(queued).toHaveLength(1);
    expect(queued[0]).toMatchObject({
      requestContext: { condition: 'RetriesExhausted', approximateInvokeCount: 3 },
      requestPayload: event,
      responsePayload: { errorType: 'Transfer.StartUnavailable' },
    });
    const depth = await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }));
    expect(depth.Attributes?.ApproximateNumberOfMessages).toBe('1');

    // Replayed while Step Functions still fails: kept in the queue.
    const deps = {
      sfn: env.sfn,
      stateMachineArn: env.sfnServer.stateMachineArn,
      routes: parseRoutes(JSON.stringify([{ bucket: BUCKET, prefix: 'inbox/', folderId: env.folderId }])),
      logger: silentLogger,
      sqs,
      queueUrl,
    };
    const stillFailing = await replayFailedEvents(deps, { visibilityTimeoutSeconds: 0 });
    expect(stillFailing).toMatchObject({ replayed: 0, failed: 1, unreadable: 0 });
    expect(sqsServer.bodies('s3-to-box-local-trigger-failures')).toHaveLength(1);

    env.sfnServer.failStartExecution(undefined);
    const replay = await replayFailedEvents(deps);
    expect(replay).toMatchObject({ replayed: 1, failed: 0, unreadable: 0 });
    expect(replay.messages[0]).toMatchObject({ outcome: 'replayed', started: 1, condition: 'RetriesExhausted' });
    expect(sqsServer.bodies('s3-to-box-local-trigger-failures')).toHaveLength(0);

    const [execution] = env.sfnServer.executions();
    if (execution === undefined) throw new Error('no execution started');
    const done = await env.waitForExecution(execution.executionArn);
    expect(done.status).toBe('SUCCEEDED');
    const output = JSON.parse(done.output ?? '{}') as TransferOutput;
    expect(await env.download(output.file.id)).toEqual({ sha1: put.sha1, size: put.size });

    // The same event delivered once more (a second copy in the queue) starts nothing new.
    await invokeAsync(async () => {
      throw new Error('still failing');
    }, event, { onFailure: { sqs, queueUrl } });
    const again = await replayFailedEvents(deps);
    expect(again.messages[0]).toMatchObject({ outcome: 'replayed', started: 0, alreadyStarted: 1 });
    expect(env.sfnServer.executions()).toHaveLength(1);
  });

  it('an event that succeeds is not queued; without a destination a failing event is dropped (what the template prevents)', async () => {
    const queueUrl = sqsServer.queueUrl('q');
    await env.put('inbox/ok.bin', 10);
    const ok = await invokeAsync(env.handler, env.s3Events.at(-1), { onFailure: { sqs, queueUrl } });
    expect(ok).toMatchObject({ outcome: 'succeeded', attempts: 1 });
    env.sfnServer.failStartExecution({ code: 'ThrottlingException', status: 400 });
    await env.put('inbox/lost.bin', 10);
    const lost = await invokeAsync(env.handler, env.s3Events.at(-1));
    expect(lost).toMatchObject({ outcome: 'dropped', attempts: 3 });
    expect(lost.error?.name).toBe('Transfer.StartThrottled');
    expect(sqsServer.bodies('q')).toHaveLength(0);
  });

  it('a message that is no on-failure record is reported unreadable and kept', async () => {
    const queueUrl = sqsServer.queueUrl('junk');
    const { SendMessageCommand } = await import('@aws-sdk/client-sqs');
    await sqs.send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: '{"hello":1}' }));
    const result = await replayFailedEvents(
      { sfn: env.sfn, stateMachineArn: env.sfnServer.stateMachineArn, routes: [], logger: silentLogger, sqs, queueUrl },
      { maxMessages: 5 },
    );
    expect(result).toMatchObject({ replayed: 0, unreadable: 1 });
    expect(result.messages[0]?.error).toMatch(/no requestPayload/);
    expect(sqsServer.bodies('junk')).toHaveLength(1);
  });

  it('s3-to-box replay-failed-events: 2 without routes, 1 while failing, 0 once replayed', async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'local');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'local');
    const queueUrl = sqsServer.queueUrl('cli');
    await env.put('inbox/cli.bin', 100);
    env.sfnServer.failStartExecution({ code: 'StateMachineDoesNotExist', status: 400 });
    await invokeAsync(env.handler, env.s3Events.at(-1), { onFailure: { sqs, queueUrl } });
    const logs: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((line: string) => void logs.push(line));
    const error = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      const base = { queueUrl, stateMachineArn: env.sfnServer.stateMachineArn, region: 'us-east-1', sqsEndpoint: sqsServer.endpoint, sfnEndpoint: env.sfnServer.endpoint };
      const routes = JSON.stringify([{ bucket: BUCKET, prefix: 'inbox/', folderId: env.folderId }]);
      expect(await runReplayCommand(base, {})).toBe(2);
      expect(error).toHaveBeenCalledWith(expect.stringMatching(/--routes \(or TRANSFER_ROUTES\) is required/));
      expect(await runReplayCommand({ ...base, routes, max: 1 }, {})).toBe(1);
      expect(logs.at(-1)).toBe('0 replayed, 1 failed again (kept in the queue), 0 unreadable (kept)');
      env.sfnServer.failStartExecution(undefined);
      // The failed message is hidden for its visibility timeout; a fresh queue copy shows the replay.
      await invokeAsync(async () => {
        throw new Error('x');
      }, env.s3Events.at(-1), { onFailure: { sqs, queueUrl } });
      expect(await runReplayCommand({ ...base, json: true }, { TRANSFER_ROUTES: routes })).toBe(0);
      expect(JSON.parse(logs.at(-1) ?? '{}')).toMatchObject({ replayed: 1, failed: 0, messages: [{ outcome: 'replayed', started: 1 }] });
    } finally {
      log.mockRestore();
      error.mockRestore();
      vi.unstubAllEnvs();
    }
    expect(env.sfnServer.executions()).toHaveLength(1);
  });
});
