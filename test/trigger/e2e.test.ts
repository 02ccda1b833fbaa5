// End to end, nothing mocked: an object put into s3rver, the event s3rver emits for it (or an EventBridge
// event, or an HTTP API request) handed to the startTransfer handler, whose real SFNClient calls the local
// Step Functions server over HTTP, which runs the real state machine and Lambdas against s3rver and the
// Box emulator. The Box file is downloaded and compared byte for byte (SHA-1).
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { S3TriggerResult } from '../../src/trigger/start.ts';
import type { FailureDocument, TransferOutput } from '../../src/transfer/contract.ts';
import { BUCKET, CHUNKED_FROM, startTriggerEnv } from './harness.ts';
import type { TriggerEnv } from './harness.ts';
import { encodeS3EventKey, eventBridgeEvent, httpEvent, lambdaContext } from './events.ts';

let env: TriggerEnv;
beforeEach(async () => {
  env = await startTriggerEnv();
});
afterEach(async () => {
  await env?.close();
});

async function expectBoxFile(executionArn: string, put: { sha1: string; size: number }, name: string): Promise<TransferOutput> {
  const described = await env.waitForExecution(executionArn);
  expect({ status: described.status, error: described.error, cause: described.cause }).toEqual({ status: 'SUCCEEDED', error: undefined, cause: undefined });
  const output = JSON.parse(described.output ?? '{}') as TransferOutput;
  expect(output.file).toMatchObject({ name, size: put.size, sha1: put.sha1, parentId: env.folderId });
  expect(await env.download(output.file.id)).toEqual({ sha1: put.sha1, size: put.size });
  return output;
}

async function folderNames(): Promise<string[]> {
  const items = await env.boxClient.folders.listItems(env.folderId);
  return items.entries.map((e) => String(e.name));
}

describe('startTransfer end to end (s3rver + local Step Functions + Box emulator)', () => {
  it("s3rver's own event for a PUT starts one chunked transfer; redeliveries start nothing new", async () => {
    const put = await env.put('inbox/big file.bin', 5 * 64 * 1024 + 123); // chunked: 6 parts of 64 KiB
    expect(put.size).toBeGreaterThan(CHUNKED_FROM);
    // s3rver emits the notification synchronously with the PUT. (It does not URL-encode keys as S3 does;
    // for a key whose only special character is a space both encodings decode to the same key.)
    expect(env.s3Events).toHaveLength(1);
    const event = env.s3Events[0] as { Records: { eventName: string; s3: { object: { key: string } } }[] };
    expect(event.Records[0]?.eventName).toBe('ObjectCreated:Put');

    const first = (await env.handler(event, lambdaContext('r1'))) as S3TriggerResult;
    expect(first).toMatchObject({ started: 1, alreadyStarted: 0, skipped: 0 });
    const outcome = first.outcomes[0];
    if (outcome?.status !== 'started') throw new Error('not started');
    expect(outcome).toMatchObject({ bucket: BUCKET, key: 'inbox/big file.bin', executionName: expect.stringMatching(/^s3-big-file-bin-[0-9a-f]{32}$/) as unknown });

    // Redelivered at once: the execution is running (same name, same input: Step Functions answers with
    // it) or has just ended (ExecutionAlreadyExists). Either way, the same execution.
    const again = (await env.handler(structuredClone(event), lambdaContext('r2'))) as S3TriggerResult;
    expect(again.outcomes[0]).toMatchObject({ executionArn: outcome.executionArn, executionName: outcome.executionName });

    const output = await expectBoxFile(outcome.executionArn, put, 'big file.bin');
    expect(output).toMatchObject({ mode: 'chunked', parts: 6, bytes: put.size });

    // Redelivered after the end: ExecutionAlreadyExists -> already started, not an error.
    const late = (await env.handler(structuredClone(event), lambdaContext('r3'))) as S3TriggerResult;
    expect(late).toMatchObject({ started: 0, alreadyStarted: 1 });
    expect(late.outcomes[0]).toMatchObject({ status: 'already-started', executionArn: outcome.executionArn });

    expect(env.sfnServer.stats()).toMatchObject({ startCalls: 3, started: 1 });
    expect(env.sfnServer.executions()).toHaveLength(1);
    expect(await folderNames()).toEqual(['big file.bin']);
  });

  it('an EventBridge event with an S3-encoded key (+ and space) transfers the right object', async () => {
    const key = 'inbox/c++ notes 2026.txt';
    const put = await env.put(key, 4096);
    const event = eventBridgeEvent({ bucket: BUCKET, key: encodeS3EventKey(key), sequencer: '0055AED6DCD90281E5', size: put.size });
    expect((event.detail as { object: { key: string } }).object.key).toBe('inbox/c%2B%2B+notes+2026.txt');
    const result = (await env.handler(event, lambdaContext())) as S3TriggerResult;
    const outcome = result.outcomes[0];
    if (outcome?.status !== 'started') throw new Error(`not started: ${JSON.stringify(result)}`);
    await expectBoxFile(outcome.executionArn, put, 'c++ notes 2026.txt');
    // Objects outside the route's prefix start nothing.
    await env.put('elsewhere/x.bin', 10);
    const skipped = (await env.handler(env.s3Events.at(-1), lambdaContext())) as S3TriggerResult;
    expect(skipped).toMatchObject({ started: 0, skipped: 1 });
    expect(env.sfnServer.executions()).toHaveLength(1);
  });

  it('POST /transfers: 202, the execution succeeds; the same Idempotency-Key starts nothing new; a bad body is 400', async () => {
    const put = await env.put('inbox/api.bin', 20_000);
    const body = { source: { bucket: BUCKET, key: 'inbox/api.bin' }, destination: { folderId: env.folderId, fileName: 'from-api.bin' } };
    const res = (await env.handler(httpEvent({ body, headers: { 'Idempotency-Key': 'job-1' } }), lambdaContext())) as APIGatewayProxyStructuredResultV2;
    expect(res.statusCode).toBe(202);
    const accepted = JSON.parse(String(res.body)) as { executionArn: string; executionName: string; startDate: string };
    expect(accepted.executionArn).toBe(`arn:aws:states:us-east-1:123456789012:execution:s3-to-box-local:${accepted.executionName}`);
    expect(Number.isNaN(Date.parse(accepted.startDate))).toBe(false);
    await expectBoxFile(accepted.executionArn, put, 'from-api.bin');

    const repeat = (await env.handler(httpEvent({ body, headers: { 'Idempotency-Key': 'job-1' } }), lambdaContext())) as APIGatewayProxyStructuredResultV2;
    expect(repeat.statusCode).toBe(200);
    expect(JSON.parse(String(repeat.body))).toEqual({
      name: accepted.executionName,
      executionArn: accepted.executionArn,
      executionName: accepted.executionName,
      statusUrl: `https://abc123.execute-api.us-east-1.amazonaws.com/transfers/${accepted.executionName}`,
      alreadyStarted: true,
    });

    const bad = (await env.handler(
      httpEvent({ body: { source: { bucket: BUCKET }, destination: { folderId: env.folderId } } }),
      lambdaContext(),
    )) as APIGatewayProxyStructuredResultV2;
    expect(bad.statusCode).toBe(400);
    expect(JSON.parse(String(bad.body))).toEqual({ error: 'Transfer.InvalidInput', message: 'Invalid transfer input: source.key is required' });

    expect(env.sfnServer.stats()).toMatchObject({ startCalls: 2, started: 1, alreadyExists: 1 });
    expect(await folderNames()).toEqual(['from-api.bin']);
  });

  it('POST /transfers with a failed execution\'s resumeInput continues its Box session: only the missing parts are sent', async () => {
    const PART = 64 * 1024;
    const put = await env.put('inbox/resumed.bin', 6 * PART + 10); // 7 parts
    // Box stores two parts, then refuses every other part with an error nothing retries: the session is kept.
    env.box.faults.inject({ operation: 'uploadPart', nth: 3, times: 1_000, action: { type: 'status', status: 409, code: 'conflict' } });
    const body = { source: { bucket: BUCKET, key: 'inbox/resumed.bin' }, destination: { folderId: env.folderId }, options: { concurrency: 1, partsPerBatch: 7 } };
    const first = (await env.handler(httpEvent({ body }), lambdaContext())) as APIGatewayProxyStructuredResultV2;
    expect(first.statusCode).toBe(202);
    const failed = await env.waitForExecution((JSON.parse(String(first.body)) as { executionArn: string }).executionArn);
    expect({ status: failed.status, error: failed.error }).toEqual({ status: 'FAILED', error: 'Box.Conflict' });
    const failure = JSON.parse(failed.cause ?? '{}') as FailureDocument;
    expect(failure).toMatchObject({ resumable: true, resumeInput: { ...body, resume: { fileName: 'resumed.bin' } } });
    const [session] = env.box.listSessions();
    expect(session).toMatchObject({ id: failure.resumeInput!.resume.sessionId, status: 'open', partsUploaded: 2 });

    env.box.faults.clear();
    env.box.resetStats();
    const resumed = (await env.handler(httpEvent({ body: failure.resumeInput }), lambdaContext())) as APIGatewayProxyStructuredResultV2;
    expect(resumed.statusCode).toBe(202);
    await expectBoxFile((JSON.parse(String(resumed.body)) as { executionArn: string }).executionArn, put, 'resumed.bin');
    expect(env.box.stats().requests).toMatchObject({ uploadPart: 7 - 2, createSession: 0 });
    expect(env.box.listSessions().map((s) => [s.id, s.status])).toEqual([[session!.id, 'committed']]);
  });

  it('a transfer that fails in the state machine shows as FAILED with its error name', async () => {
    const res = (await env.handler(
      httpEvent({ body: { source: { bucket: BUCKET, key: 'inbox/missing.bin' }, destination: { folderId: env.folderId } } }),
      lambdaContext(),
    )) as APIGatewayProxyStructuredResultV2;
    expect(res.statusCode).toBe(202);
    const { executionArn } = JSON.parse(String(res.body)) as { executionArn: string };
    const described = await env.waitForExecution(executionArn);
    expect(described.status).toBe('FAILED');
    expect(described.error).toBe('Transfer.SourceNotFound');
  });

  it('two keys with one name in different prefixes become two files (mirror layout), never two versions of one', async () => {
    const sales = await env.put('inbox/sales/report.csv', 3000, 'sales');
    const salesEvent = env.s3Events.at(-1);
    const hr = await env.put('inbox/hr/report.csv', 3000, 'hr');
    const hrEvent = env.s3Events.at(-1);
    const outputs: TransferOutput[] = [];
    for (const event of [salesEvent, hrEvent]) {
      const result = (await env.handler(event, lambdaContext())) as S3TriggerResult;
      const outcome = result.outcomes[0];
      if (outcome?.status !== 'started') throw new Error(`not started: ${JSON.stringify(result)}`);
      const described = await env.waitForExecution(outcome.executionArn);
      expect(described.status).toBe('SUCCEEDED');
      outputs.push(JSON.parse(described.output ?? '{}') as TransferOutput);
    }
    // Subfolders "sales" and "hr" created in the route's folder, one report.csv in each.
    const top = await env.boxClient.folders.listItems(env.folderId);
    const folders = new Map(top.entries.map((e) => [String(e.name), e]));
    expect([...folders.keys()].sort()).toEqual(['hr', 'sales']);
    const [salesFile, hrFile] = outputs;
    expect(salesFile?.file).toMatchObject({ name: 'report.csv', parentId: folders.get('sales')?.id, sha1: sales.sha1 });
    expect(hrFile?.file).toMatchObject({ name: 'report.csv', parentId: folders.get('hr')?.id, sha1: hr.sha1 });
    expect(salesFile?.file.id).not.toBe(hrFile?.file.id);
    expect(await env.download(salesFile?.file.id ?? '')).toEqual({ sha1: sales.sha1, size: 3000 });
    expect(await env.download(hrFile?.file.id ?? '')).toEqual({ sha1: hr.sha1, size: 3000 });

    // A third key in an existing subfolder reuses it (Box's 409 names the folder), no duplicate folder.
    await env.put('inbox/sales/q2.csv', 10, 'q2');
    const third = (await env.handler(env.s3Events.at(-1), lambdaContext())) as S3TriggerResult;
    if (third.outcomes[0]?.status !== 'started') throw new Error('not started');
    const thirdDone = await env.waitForExecution(third.outcomes[0].executionArn);
    expect((JSON.parse(thirdDone.output ?? '{}') as TransferOutput).file.parentId).toBe(folders.get('sales')?.id);
    expect((await env.boxClient.folders.listItems(env.folderId)).entries).toHaveLength(2);
  });
});
