/* eslint-disable @typescript-eslint/no-explicit-any -- JSON answers are read untyped */
// GET /transfers/{name} and GET /transfers end to end: the transferStatus handler with a real SFNClient
// against the local Step Functions API (DescribeExecution, ListExecutions, GetExecutionHistory) and the
// Box emulator for the parts of a running transfer.
import { DescribeStateMachineCommand } from '@aws-sdk/client-sfn';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { machineKindOfDefinition, runStatusCommand } from '../../local/cli/status.ts';
import type { StatusCommandOptions } from '../../local/cli/status.ts';
import { makeTransferStatusHandler } from '../../functions/transferStatus.ts';
import type { TransferStatusHandler } from '../../functions/transferStatus.ts';
import type { TransferOutput } from '../../src/transfer/contract.ts';
import { makeStartTransferHandler } from '../../functions/startTransfer.ts';
import { ensureBucket } from '../../local/runner/index.ts';
import { silentLogger } from '../../src/transfer/logger.ts';
import { BUCKET, startTriggerEnv } from './harness.ts';
import type { TriggerEnv } from './harness.ts';
import { httpEvent, lambdaContext } from './events.ts';

let env: TriggerEnv;
let status: TransferStatusHandler;
beforeEach(async () => {
  env = await startTriggerEnv();
  status = makeTransferStatusHandler({ sfn: env.sfn, stateMachineArn: env.sfnServer.stateMachineArn, box: async () => env.boxClient });
});
afterEach(async () => {
  await env?.close();
});

async function get(path: string, query?: Record<string, string>): Promise<{ statusCode: number; json: Record<string, any> }> {
  const event = httpEvent({ method: 'GET', path });
  if (query) event.queryStringParameters = query;
  const res = (await status(event, lambdaContext())) as APIGatewayProxyStructuredResultV2;
  return { statusCode: res.statusCode ?? 0, json: JSON.parse(String(res.body)) as Record<string, any> };
}

async function post(body: unknown): Promise<{ name: string; statusUrl: string; executionArn: string }> {
  const res = (await env.handler(httpEvent({ body }), lambdaContext())) as APIGatewayProxyStructuredResultV2;
  expect(res.statusCode).toBe(202);
  return JSON.parse(String(res.body)) as { name: string; statusUrl: string; executionArn: string };
}

/** A loopback Step Functions endpoint that forwards to `target` but refuses DescribeStateMachine, as IAM would. */
async function startDenyingProxy(target: string): Promise<{ endpoint: string; denied: () => number; close: () => Promise<void> }> {
  let denied = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (req.headers['x-amz-target'] === 'AWSStepFunctions.DescribeStateMachine') {
        denied += 1;
        res.writeHead(400, { 'content-type': 'application/x-amz-json-1.0' });
        res.end(JSON.stringify({ __type: 'AccessDeniedException', message: 'not authorized to perform: states:DescribeStateMachine' }));
        return;
      }
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => k === 'x-amz-target' || k === 'content-type')) as Record<string, string>;
      fetch(target, { method: 'POST', headers, body: Buffer.concat(chunks) })
        .then(async (answer) => {
          res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/x-amz-json-1.0' });
          res.end(Buffer.from(await answer.arrayBuffer()));
        })
        .catch((err: unknown) => res.destroy(err as Error));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    denied: () => denied,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

describe('which state machine an execution ARN names (s3-to-box status without the machines given)', () => {
  it('reads the bulk and the transfer definitions as DescribeStateMachine answers them; anything else is neither', async () => {
    const definitionOf = async (stateMachineArn: string): Promise<string | undefined> => (await env.sfn.send(new DescribeStateMachineCommand({ stateMachineArn }))).definition;
    expect(machineKindOfDefinition(await definitionOf(env.sfnServer.bulkStateMachineArn))).toBe('bulk');
    expect(machineKindOfDefinition(await definitionOf(env.sfnServer.stateMachineArn))).toBe('transfer');
    expect(machineKindOfDefinition(JSON.stringify({ StartAt: 'Hello', States: { Hello: { Type: 'Pass', End: true } } }))).toBeUndefined();
    // An inline Map (as the transfer machine's UploadParts) does not make a bulk machine.
    expect(machineKindOfDefinition(JSON.stringify({ StartAt: 'M', States: { M: { Type: 'Map', ItemProcessor: { ProcessorConfig: { Mode: 'INLINE' } }, End: true } } }))).toBeUndefined();
    expect(machineKindOfDefinition('not json')).toBeUndefined();
    expect(machineKindOfDefinition(undefined)).toBeUndefined();
  });
});

describe('transfer status (GET /transfers/{name}, GET /transfers)', () => {
  it('a running chunked transfer shows its parts stored; a finished one its output; a failed one the failure document', { timeout: 60_000 }, async () => {
    const put = await env.put('inbox/big.bin', 6 * 64 * 1024);
    // Hold the transfer before its commit (after every part is stored) to read it while RUNNING.
    const held = env.holdNextCurrentCheck();
    const started = await post({ source: { bucket: BUCKET, key: 'inbox/big.bin', onlyIfCurrent: true }, destination: { folderId: env.folderId } });
    expect(started.statusUrl).toBe(`https://abc123.execute-api.us-east-1.amazonaws.com/transfers/${started.name}`);
    await held.reached;
    const running = await get(`/transfers/${started.name}`);
    expect(running.statusCode).toBe(200);
    expect(running.json).toMatchObject({
      name: started.name,
      executionArn: started.executionArn,
      kind: 'transfer',
      status: 'RUNNING',
      progress: { mode: 'chunked', size: put.size, totalParts: 6, partsStored: 6, bytesStored: put.size },
    });
    expect(Number.isNaN(Date.parse(running.json.startDate))).toBe(false);
    expect(running.json.stopDate).toBeUndefined();
    held.release();
    await env.waitForExecution(started.executionArn);

    const done = await get(`/transfers/${started.name}`);
    expect(done.json).toMatchObject({ status: 'SUCCEEDED', output: { mode: 'chunked', file: { name: 'big.bin', sha1: put.sha1 } } });
    expect(Date.parse(done.json.stopDate)).toBeGreaterThanOrEqual(Date.parse(done.json.startDate));
    expect(done.json.progress).toBeUndefined();
    expect((done.json.output as TransferOutput).bytes).toBe(put.size);
    // By ARN too.
    expect((await get(`/transfers/${encodeURIComponent(started.executionArn)}`)).json.status).toBe('SUCCEEDED');

    const failed = await post({ source: { bucket: BUCKET, key: 'inbox/missing.bin' }, destination: { folderId: env.folderId } });
    await env.waitForExecution(failed.executionArn);
    const failure = await get(`/transfers/${failed.name}`);
    expect(failure.json).toMatchObject({ status: 'FAILED', failure: { error: { name: 'Transfer.SourceNotFound' }, resumable: false } });
    expect(failure.json.failure.error.message).toMatch(/missing\.bin/);

    // The list: newest first, filtered by status, paged.
    const all = await get('/transfers');
    expect(all.json.transfers.map((t: { name: string }) => t.name)).toEqual([failed.name, started.name]);
    const onlyFailed = await get('/transfers', { status: 'FAILED' });
    expect(onlyFailed.json.transfers.map((t: { status: string }) => t.status)).toEqual(['FAILED']);
    const first = await get('/transfers', { limit: '1' });
    expect(first.json.transfers).toHaveLength(1);
    const second = await get('/transfers', { limit: '1', nextToken: first.json.nextToken as string });
    expect(second.json.transfers.map((t: { name: string }) => t.name)).toEqual([started.name]);
    expect(second.json.nextToken).toBeUndefined();
  });

  it('answers 404 for an unknown name, 400 for a malformed name or query, 404 for another route', async () => {
    expect(await get('/transfers/no-such-transfer')).toMatchObject({ statusCode: 404, json: { error: 'Transfer.NotFound' } });
    expect(await get('/transfers/bad%20name!')).toMatchObject({ statusCode: 400, json: { error: 'Transfer.InvalidInput' } });
    expect(await get(`/transfers/${'x'.repeat(81)}`)).toMatchObject({ statusCode: 400 });
    expect(await get(`/transfers/${encodeURIComponent('arn:aws:states:us-east-1:123456789012:execution:other-machine:n1')}`)).toMatchObject({ statusCode: 404 });
    expect(await get(`/transfers/${encodeURIComponent('arn:aws:states:nope')}`)).toMatchObject({ statusCode: 400 });
    expect(await get('/transfers', { status: 'DONE' })).toMatchObject({ statusCode: 400, json: { message: 'status must be one of RUNNING, SUCCEEDED, FAILED, ABORTED, TIMED_OUT, PENDING_REDRIVE' } });
    expect(await get('/transfers', { limit: '0' })).toMatchObject({ statusCode: 400 });
    expect(await get('/transfers', { nextToken: 'garbage' })).toMatchObject({ statusCode: 400, json: { error: 'Transfer.InvalidInput' } });
    expect(await get('/transfers', { colour: 'red' })).toMatchObject({ statusCode: 400 });
    expect(await get('/elsewhere')).toMatchObject({ statusCode: 404, json: { error: 'Http.NotFound' } });
  });

  it('a bulk run started by POST /transfers: its statusUrl answers with live object counts while it runs, then the summary and report; kind=bulk lists it', { timeout: 120_000 }, async () => {
    await ensureBucket(env.s3, 'reports');
    for (let i = 0; i < 5; i++) await env.put(`bulk/o${i}.txt`, 1_000 + i);
    const withBulk = makeTransferStatusHandler({ sfn: env.sfn, stateMachineArn: env.sfnServer.stateMachineArn, bulkStateMachineArn: env.sfnServer.bulkStateMachineArn });
    const start = makeStartTransferHandler({ sfn: env.sfn, stateMachineArn: env.sfnServer.stateMachineArn, bulkStateMachineArn: env.sfnServer.bulkStateMachineArn, routes: [], logger: silentLogger });
    const getBulk = async (path: string, query?: Record<string, string>): Promise<{ statusCode: number; json: Record<string, any> }> => {
      const event = httpEvent({ method: 'GET', path });
      if (query) event.queryStringParameters = query;
      const res = (await withBulk(event, lambdaContext())) as APIGatewayProxyStructuredResultV2;
      return { statusCode: res.statusCode ?? 0, json: JSON.parse(String(res.body)) as Record<string, any> };
    };
    // Batches of 2 objects, one batch at a time (2 objects in flight): the 3rd upload (the 2nd batch's
    // first) is held, so the 1st batch has finished, the 2nd runs and the 3rd waits.
    let release!: () => void;
    env.box.faults.inject({ operation: 'uploadFile', nth: 3, action: { type: 'hold', until: new Promise<void>((resolve) => (release = resolve)) } });
    const res = (await start(
      httpEvent({ body: { source: { bucket: BUCKET, prefix: 'bulk/' }, destination: { folderId: env.folderId }, report: { bucket: 'reports' }, options: { objectsPerBatch: 2, objectsInFlight: 2, uploadsPerMinute: 100_000 } } }),
      lambdaContext(),
    )) as APIGatewayProxyStructuredResultV2;
    expect(res.statusCode).toBe(202);
    const started = JSON.parse(String(res.body)) as { name: string; executionArn: string; statusUrl: string };
    expect(started.executionArn).toBe(`arn:aws:states:us-east-1:123456789012:execution:s3-to-box-bulk-local:${started.name}`);
    try {
      for (let i = 0; i < 3000 && env.box.stats().requests.uploadFile < 3; i++) await new Promise((r) => setTimeout(r, 10));
      expect(env.box.stats().requests.uploadFile).toBeGreaterThanOrEqual(3);
      // Found by name although the transfer machine has no such execution; the map run's counts.
      const running = await getBulk(new URL(started.statusUrl).pathname);
      expect(running.statusCode).toBe(200);
      expect(running.json).toMatchObject({
        name: started.name,
        executionArn: started.executionArn,
        kind: 'bulk',
        status: 'RUNNING',
        progress: { mode: 'bulk', objects: { listed: 5, finished: 2, running: 2, pending: 1, failed: 0 } },
      });
      // The old handler (no bulk machine configured, as the deployed one was) cannot see it.
      expect((await get(`/transfers/${started.name}`)).statusCode).toBe(404);
      // s3-to-box status prints the same counts.
      vi.stubEnv('AWS_ACCESS_KEY_ID', 'local');
      vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'local');
      const out: string[] = [];
      const log = vi.spyOn(console, 'log').mockImplementation((line: string) => void out.push(line));
      try {
        const opts = { region: 'us-east-1', sfnEndpoint: env.sfnServer.endpoint, stateMachineArn: env.sfnServer.stateMachineArn, bulkStateMachineArn: env.sfnServer.bulkStateMachineArn };
        expect(await runStatusCommand(started.name, opts, {})).toBe(0);
      } finally {
        log.mockRestore();
        vi.unstubAllEnvs();
      }
      expect(out.at(-1)).toContain(`${started.name}  RUNNING  (bulk)`);
      expect(out.at(-1)).toContain('objects: 5 listed, 2 in finished batches, 2 in running ones, 1 waiting, 0 in failed batches');
      // By the bulk run's ARN without --bulk-state-machine-arn (alone, or with the transfer machine given):
      // the ARN's machine is told apart by its definition (DescribeStateMachine).
      const counts = 'objects: 5 listed, 2 in finished batches, 2 in running ones, 1 waiting, 0 in failed batches';
      const statusOf = async (nameOrArn: string, opts: StatusCommandOptions, cliEnv: Record<string, string>): Promise<{ code: number; out: string[]; err: string[] }> => {
        const lines: string[] = [];
        const errLines: string[] = [];
        const logSpy = vi.spyOn(console, 'log').mockImplementation((line: string) => void lines.push(line));
        const errSpy = vi.spyOn(console, 'error').mockImplementation((line: string) => void errLines.push(line));
        vi.stubEnv('AWS_ACCESS_KEY_ID', 'local');
        vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'local');
        try {
          return { code: await runStatusCommand(nameOrArn, opts, cliEnv), out: lines, err: errLines };
        } finally {
          logSpy.mockRestore();
          errSpy.mockRestore();
          vi.unstubAllEnvs();
        }
      };
      const byArn = (opts: StatusCommandOptions, cliEnv: Record<string, string>): ReturnType<typeof statusOf> => statusOf(started.executionArn, opts, cliEnv);
      // By name with only the bulk machine known (BULK_STATE_MACHINE_ARN or --bulk-state-machine-arn): looked for there.
      const local = { region: 'us-east-1', sfnEndpoint: env.sfnServer.endpoint };
      for (const [opts, cliEnv] of [
        [local, { BULK_STATE_MACHINE_ARN: env.sfnServer.bulkStateMachineArn }],
        [{ ...local, bulkStateMachineArn: env.sfnServer.bulkStateMachineArn }, {}],
      ] as [StatusCommandOptions, Record<string, string>][]) {
        const byName = await statusOf(started.name, opts, cliEnv);
        expect(byName).toMatchObject({ code: 0, err: [] });
        expect(byName.out.at(-1)).toContain(`${started.name}  RUNNING  (bulk)`);
        expect(byName.out.at(-1)).toContain(counts);
        // A name the bulk machine does not have: not found (it is not looked for in a transfer machine nobody named).
        expect(await statusOf('no-such-run', opts, cliEnv)).toMatchObject({ code: 1, err: ['Transfer.NotFound: No transfer named "no-such-run"'] });
      }
      // With no machine known, a name is bad usage, and the message names both options.
      const unknown = await statusOf(started.name, local, {});
      expect(unknown.code).toBe(2);
      expect(unknown.err.join('\n')).toMatch(/--state-machine-arn \(or STATE_MACHINE_ARN\) for a transfer, --bulk-state-machine-arn \(or BULK_STATE_MACHINE_ARN\) for a bulk run/);
      for (const cliEnv of [{}, { STATE_MACHINE_ARN: env.sfnServer.stateMachineArn }] as Record<string, string>[]) {
        const alone = await byArn({ region: 'us-east-1', sfnEndpoint: env.sfnServer.endpoint }, cliEnv);
        expect(alone).toMatchObject({ code: 0, err: [] });
        expect(alone.out.at(-1)).toContain(`${started.name}  RUNNING  (bulk)`);
        expect(alone.out.at(-1)).toContain(counts);
      }
      // A caller who may not describe state machines: the deployment's naming (s3-to-box-bulk-STAGE) decides, with a note.
      const denying = await startDenyingProxy(env.sfnServer.endpoint);
      try {
        const named = await byArn({ region: 'us-east-1', sfnEndpoint: denying.endpoint, json: true }, {});
        expect(named.code).toBe(0);
        expect(JSON.parse(named.out.at(-1) ?? '{}')).toMatchObject({ kind: 'bulk', progress: { mode: 'bulk', objects: { listed: 5 } } });
        expect(named.err).toEqual([expect.stringContaining('taken by its name as the bulk state machine')]);
        expect(denying.denied()).toBe(1);
      } finally {
        await denying.close();
      }
      // Step Functions refusing the Map Run calls (a role without them): the state still answers, counts say why not.
      const refusing = makeTransferStatusHandler({
        sfn: {
          send: (command: { constructor: { name: string } }) =>
            command.constructor.name === 'ListMapRunsCommand'
              ? Promise.reject(Object.assign(new Error('not authorized to perform: states:ListMapRuns'), { name: 'AccessDeniedException' }))
              : env.sfn.send(command as never),
        } as never,
        stateMachineArn: env.sfnServer.stateMachineArn,
        bulkStateMachineArn: env.sfnServer.bulkStateMachineArn,
      });
      const refused = (await refusing(httpEvent({ method: 'GET', path: `/transfers/${started.name}` }), lambdaContext())) as APIGatewayProxyStructuredResultV2;
      expect(JSON.parse(String(refused.body))).toMatchObject({
        status: 'RUNNING',
        progress: { mode: 'bulk', unavailable: 'AccessDeniedException: not authorized to perform: states:ListMapRuns' },
      });
    } finally {
      release();
    }
    await env.waitForExecution(started.executionArn);
    const done = await getBulk(`/transfers/${started.name}`);
    expect(done.json).toMatchObject({
      kind: 'bulk',
      status: 'SUCCEEDED',
      output: { objects: 5, copied: 5, skipped: 0, failed: 0, report: { bucket: 'reports', key: expect.stringContaining(started.name) } },
    });
    expect(done.json.progress).toBeUndefined();
    const listed = await getBulk('/transfers', { kind: 'bulk' });
    expect(listed.json.transfers).toEqual([expect.objectContaining({ name: started.name, status: 'SUCCEEDED' })]);
    expect((await getBulk('/transfers')).json.transfers).toEqual([]);
  });

  it('s3-to-box status reads the same from the local Step Functions API (0 found, 1 unknown, 2 malformed)', async () => {
    vi.stubEnv('AWS_ACCESS_KEY_ID', 'local');
    vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'local');
    await env.put('inbox/s.bin', 100);
    const started = await post({ source: { bucket: BUCKET, key: 'inbox/s.bin' }, destination: { folderId: env.folderId } });
    await env.waitForExecution(started.executionArn);
    const out: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((line: string) => void out.push(line));
    const error = vi.spyOn(console, 'error').mockImplementation(() => undefined);
    try {
      const opts = { region: 'us-east-1', sfnEndpoint: env.sfnServer.endpoint, stateMachineArn: env.sfnServer.stateMachineArn };
      expect(await runStatusCommand(started.name, { ...opts, json: true }, {})).toBe(0);
      expect(JSON.parse(out.at(-1) ?? '{}')).toMatchObject({ name: started.name, status: 'SUCCEEDED', output: { file: { name: 's.bin' } } });
      // By ARN alone: the state machine comes from the ARN.
      expect(await runStatusCommand(started.executionArn, { region: 'us-east-1', sfnEndpoint: env.sfnServer.endpoint }, {})).toBe(0);
      expect(out.at(-1)).toMatch(new RegExp(`^${started.name}  SUCCEEDED  \\(transfer\\)`));
      expect(await runStatusCommand('nope', opts, {})).toBe(1);
      expect(error).toHaveBeenLastCalledWith('Transfer.NotFound: No transfer named "nope"');
      expect(await runStatusCommand('bad name', opts, {})).toBe(2);
      // An execution ARN of a state machine this API does not have: not found, named.
      const elsewhere = started.executionArn.replace(':s3-to-box-local:', ':someone-else:');
      expect(await runStatusCommand(elsewhere, { region: 'us-east-1', sfnEndpoint: env.sfnServer.endpoint }, {})).toBe(1);
      expect(error).toHaveBeenLastCalledWith(`Transfer.NotFound: No state machine ${elsewhere.replace(':execution:', ':stateMachine:').replace(`:${started.name}`, '')}`);
      expect(await runStatusCommand('arn:aws:states:nowhere', { region: 'us-east-1', sfnEndpoint: env.sfnServer.endpoint }, {})).toBe(2);
      expect(await runStatusCommand('some-name', { region: 'us-east-1' }, {})).toBe(2);
    } finally {
      log.mockRestore();
      error.mockRestore();
      vi.unstubAllEnvs();
    }
  });
});
