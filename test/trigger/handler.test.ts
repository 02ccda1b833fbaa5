// The startTransfer handler's branches and Step Functions error paths, with SFNClient mocked by
// aws-sdk-client-mock (the real client against a local Step Functions server is in e2e.test.ts and
// local-sfn.test.ts), and network failures of the real client against loopback sockets.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { ExecutionAlreadyExists, SFNClient, StartExecutionCommand, StateMachineDoesNotExist } from '@aws-sdk/client-sfn';
import type { ServiceInputTypes, ServiceOutputTypes, SFNClientResolvedConfig } from '@aws-sdk/client-sfn';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import type { AwsStub } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { defaultStartTransferDeps, handler as deployedHandler, makeStartTransferHandler, startTransferDepsFromEnv } from '../../functions/startTransfer.ts';
import type { StartTransferDeps } from '../../functions/startTransfer.ts';
import { createJsonLogger } from '../../src/transfer/logger.ts';
import { DEFAULT_CLOCK_SKEW_TOLERANCE_MS, startExecutionError } from '../../src/trigger/start.ts';
import type { S3TriggerResult } from '../../src/trigger/start.ts';
import { executionNameForIdempotencyKey } from '../../src/trigger/names.ts';
import { parseRoutes } from '../../src/trigger/routes.ts';
import { eventBridgeEvent, httpEvent, lambdaContext, s3Notification } from './events.ts';

const STATE_MACHINE_ARN = 'arn:aws:states:eu-west-1:123456789012:stateMachine:s3-to-box-test';

function throttled(): Error {
  return Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $fault: 'client', $metadata: { httpStatusCode: 400 } });
}

let client: SFNClient;
let sfn: AwsStub<ServiceInputTypes, ServiceOutputTypes, SFNClientResolvedConfig>;
let logLines: Record<string, unknown>[];
let deps: StartTransferDeps;

beforeEach(() => {
  client = new SFNClient({ region: 'eu-west-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
  sfn = mockClient(client);
  logLines = [];
  deps = {
    sfn: client,
    stateMachineArn: STATE_MACHINE_ARN,
    routes: parseRoutes('[{"bucket":"exports","prefix":"in/","folderId":"77"},{"bucket":"exports","prefix":"in/urgent/","folderId":"88","onConflict":"rename"}]'),
    logger: createJsonLogger({ level: 'debug', write: (line) => logLines.push(JSON.parse(line) as Record<string, unknown>) }),
  };
});

afterEach(() => {
  vi.unstubAllEnvs();
  sfn.restore();
  client.destroy();
});

/** A fresh start: Step Functions dates it when the call arrives, i.e. now (or `startDate` for an earlier execution). */
function started(arnName: string, startDate = new Date()): { executionArn: string; startDate: Date } {
  return { executionArn: `arn:aws:states:eu-west-1:123456789012:execution:s3-to-box-test:${arnName}`, startDate };
}

describe('S3 events', () => {
  it('starts one execution per routed object, with the decoded key, pinned version and route', async () => {
    sfn.on(StartExecutionCommand).callsFake((input: { name: string }) => started(input.name));
    const handler = makeStartTransferHandler(deps);
    const result = (await handler(
      s3Notification([
        { bucket: 'exports', key: 'in/urgent/q1+report.pdf', versionId: 'v1', sequencer: '0A' },
        { bucket: 'exports', key: 'in/a.bin', sequencer: '0B' },
        { bucket: 'exports', key: 'elsewhere/b.bin', sequencer: '0C' },
        { bucket: 'exports', key: 'in/folder/', sequencer: '0D' },
      ]),
      lambdaContext(),
    )) as S3TriggerResult;
    expect(result).toMatchObject({ started: 2, alreadyStarted: 0, skipped: 2 });
    const calls = sfn.commandCalls(StartExecutionCommand).map((c) => c.args[0].input);
    expect(calls.map((c) => ({ ...c, input: JSON.parse(c.input ?? '') as unknown }))).toEqual([
      {
        stateMachineArn: STATE_MACHINE_ARN,
        name: expect.stringMatching(/^s3-q1-report-pdf-[0-9a-f]{32}$/) as unknown,
        input: {
          source: { bucket: 'exports', key: 'in/urgent/q1 report.pdf', versionId: 'v1', onlyIfCurrent: true },
          destination: { folderId: '88', fileName: 'q1 report.pdf' },
          onConflict: 'rename',
        },
      },
      {
        stateMachineArn: STATE_MACHINE_ARN,
        name: expect.stringMatching(/^s3-a-bin-[0-9a-f]{32}$/) as unknown,
        input: { source: { bucket: 'exports', key: 'in/a.bin', onlyIfCurrent: true }, destination: { folderId: '77', fileName: 'a.bin' } },
      },
    ]);
    expect(result.outcomes.filter((o) => o.status === 'skipped').map((o) => o.status === 'skipped' && o.reason)).toEqual([
      'no route matches the bucket and key',
      'folder marker (key ends with "/")',
    ]);
    expect(logLines.some((l) => l.message === 'transfer started' && l.key === 'in/a.bin' && l.requestId === 'lambda-req-1')).toBe(true);
  });

  it('treats ExecutionAlreadyExists on a redelivered event as already started, with the same name', async () => {
    const names: string[] = [];
    sfn
      .on(StartExecutionCommand)
      .callsFakeOnce((input: { name: string }) => {
        names.push(input.name);
        return started(input.name);
      })
      .callsFake((input: { name: string }) => {
        names.push(input.name);
        throw new ExecutionAlreadyExists({ message: `Execution Already Exists: '${input.name}'`, $metadata: {} });
      });
    const handler = makeStartTransferHandler(deps);
    const event = eventBridgeEvent({ bucket: 'exports', key: 'in/a+b.bin', versionId: 'v9', sequencer: '1' });
    const first = (await handler(event, lambdaContext())) as S3TriggerResult;
    const second = (await handler(structuredClone(event), lambdaContext())) as S3TriggerResult;
    expect(first).toMatchObject({ started: 1, alreadyStarted: 0 });
    expect(second).toMatchObject({ started: 0, alreadyStarted: 1 });
    expect(names).toHaveLength(2);
    expect(names[0]).toBe(names[1]);
    expect(second.outcomes[0]).toMatchObject({
      status: 'already-started',
      key: 'in/a b.bin',
      executionArn: `arn:aws:states:eu-west-1:123456789012:execution:s3-to-box-test:${names[0]}`,
    });
  });

  it('throws Transfer.StartThrottled after trying every object, so Lambda retries the event', async () => {
    sfn.on(StartExecutionCommand).rejectsOnce(throttled()).callsFake((input: { name: string }) => started(input.name));
    const handler = makeStartTransferHandler(deps);
    const event = s3Notification([
      { bucket: 'exports', key: 'in/one.bin', sequencer: '1' },
      { bucket: 'exports', key: 'in/two.bin', sequencer: '2' },
    ]);
    await expect(handler(event, lambdaContext())).rejects.toMatchObject({ name: 'Transfer.StartThrottled' });
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(2);
    expect(logLines.some((l) => l.message === 'StartExecution failed' && (l.error as { name?: string }).name === 'Transfer.StartThrottled')).toBe(true);
  });

  it('reports a missing state machine as Transfer.ConfigurationError', async () => {
    sfn.on(StartExecutionCommand).rejects(new StateMachineDoesNotExist({ message: 'State Machine Does Not Exist', $metadata: {} }));
    const handler = makeStartTransferHandler(deps);
    await expect(handler(s3Notification([{ bucket: 'exports', key: 'in/one.bin', sequencer: '1' }]), lambdaContext())).rejects.toMatchObject({
      name: 'Transfer.ConfigurationError',
      message: expect.stringContaining(STATE_MACHINE_ARN) as unknown,
    });
  });

  it('fails S3 events with Transfer.ConfigurationError while STATE_MACHINE_ARN or TRANSFER_ROUTES is unusable', async () => {
    vi.stubEnv('LOG_LEVEL', 'silent');
    const handler = makeStartTransferHandler(() => startTransferDepsFromEnv({ TRANSFER_ROUTES: '[]' }));
    await expect(handler(s3Notification([{ bucket: 'exports', key: 'in/one.bin', sequencer: '1' }]), lambdaContext())).rejects.toMatchObject({
      name: 'Transfer.ConfigurationError',
      message: expect.stringContaining('STATE_MACHINE_ARN is not set') as unknown,
    });
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it('reports an execution dated before the call as already started: the answer Step Functions gives a repeat while it runs', async () => {
    const earlier = new Date(Date.now() - 60_000);
    sfn.on(StartExecutionCommand).callsFake((input: { name: string }) => started(input.name, earlier));
    const handler = makeStartTransferHandler(deps);
    const result = (await handler(s3Notification([{ bucket: 'exports', key: 'in/a.bin', sequencer: '0A' }]), lambdaContext())) as S3TriggerResult;
    expect(result).toMatchObject({ started: 0, alreadyStarted: 1, skipped: 0 });
    expect(result.outcomes[0]).toMatchObject({ status: 'already-started', key: 'in/a.bin', startDate: earlier.toISOString() });
    expect(logLines.filter((l) => l.key === 'in/a.bin').map((l) => l.message)).toEqual(['transfer already started']);
  });

  it('reports a start dated within the clock-skew tolerance before the call as a new start', async () => {
    sfn.on(StartExecutionCommand).callsFake((input: { name: string }) => started(input.name, new Date(Date.now() - DEFAULT_CLOCK_SKEW_TOLERANCE_MS / 2)));
    const handler = makeStartTransferHandler(deps);
    const result = (await handler(s3Notification([{ bucket: 'exports', key: 'in/a.bin', sequencer: '0A' }]), lambdaContext())) as S3TriggerResult;
    expect(result).toMatchObject({ started: 1, alreadyStarted: 0 });
  });

  it('skips a record whose key is not validly URL-encoded and starts the others of the event', async () => {
    sfn.on(StartExecutionCommand).callsFake((input: { name: string }) => started(input.name));
    const handler = makeStartTransferHandler(deps);
    const result = (await handler(
      s3Notification([
        { bucket: 'exports', key: 'in/bad%zz.bin', sequencer: '0A' },
        { bucket: 'exports', key: 'in/good.bin', sequencer: '0B' },
      ]),
      lambdaContext(),
    )) as S3TriggerResult;
    expect(result).toMatchObject({ started: 1, alreadyStarted: 0, skipped: 1 });
    expect(result.outcomes[0]).toEqual({ status: 'skipped', bucket: 'exports', reason: 'S3 event key "in/bad%zz.bin" is not validly URL-encoded' });
    expect(logLines.some((l) => l.message === 'S3 event record skipped' && l.reason === 'S3 event key "in/bad%zz.bin" is not validly URL-encoded')).toBe(true);
    const bridged = (await handler(eventBridgeEvent({ bucket: 'exports', key: 'in/%E0%A4%A.bin', sequencer: '1' }), lambdaContext())) as S3TriggerResult;
    expect(bridged).toMatchObject({ started: 0, skipped: 1 });
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(1);
  });

  it('ignores the S3 test event; answers an unrecognized event without throwing (a retry could never succeed) and logs it as an error', async () => {
    const handler = makeStartTransferHandler(deps);
    await expect(handler({ Service: 'Amazon S3', Event: 's3:TestEvent', Bucket: 'exports' }, lambdaContext())).resolves.toMatchObject({ started: 0 });
    for (const event of [{ detail: {} }, null, [1, 2], 'text']) {
      const result = (await handler(event, lambdaContext())) as S3TriggerResult;
      expect(result).toMatchObject({ started: 0, alreadyStarted: 0, skipped: 1 });
      expect(result.outcomes[0]).toMatchObject({ status: 'skipped', reason: expect.stringMatching(/^unrecognized event: startTransfer takes an S3 event notification/) as unknown });
    }
    const errors = logLines.filter((l) => l.level === 'error' && l.message === 'unrecognized event ignored');
    expect(errors.map((l) => l.eventKeys)).toEqual([['detail'], 'null', 'array', 'string']);
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });
});

describe('the request budget', () => {
  it('starts nothing with less time left than the finish margin (5 s): 503 Transfer.StartUnavailable for HTTP, thrown for an S3 event (Lambda retries it)', async () => {
    sfn.on(StartExecutionCommand).callsFake((input: { name: string }) => started(input.name));
    const handler = makeStartTransferHandler(deps);
    const context = { ...lambdaContext(), getRemainingTimeInMillis: () => 4_000 };
    await expect(handler(s3Notification([{ bucket: 'exports', key: 'in/a.bin', sequencer: '0A' }]), context)).rejects.toMatchObject({ name: 'Transfer.StartUnavailable' });
    const answer = (await handler(httpEvent({ body: { source: { bucket: 'exports', key: 'in/b.bin' }, destination: { folderId: '77' } } }), context)) as APIGatewayProxyStructuredResultV2;
    expect(answer.statusCode).toBe(503);
    expect(answer.headers).toMatchObject({ 'Retry-After': '1' });
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
    // With the margin left and more, the same calls start.
    const roomy = { ...lambdaContext(), getRemainingTimeInMillis: () => 6_000 };
    expect(await handler(s3Notification([{ bucket: 'exports', key: 'in/a.bin', sequencer: '0A' }]), roomy)).toMatchObject({ started: 1 });
  });
});

describe('StartExecution errors', () => {
  const ARN = STATE_MACHINE_ARN;
  it.each([
    ['ThrottlingException', { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } }, 'Transfer.StartThrottled'],
    ['HTTP 429', { name: 'Unknown', $metadata: { httpStatusCode: 429 } }, 'Transfer.StartThrottled'],
    ['HTTP 500', { name: 'InternalFailure', $metadata: { httpStatusCode: 500 } }, 'Transfer.StartUnavailable'],
    ['ServiceUnavailable', { name: 'ServiceUnavailable', $metadata: { httpStatusCode: 503 } }, 'Transfer.StartUnavailable'],
    ['a reset connection (TimeoutError, ECONNRESET, no status)', { name: 'TimeoutError', code: 'ECONNRESET', $metadata: { attempts: 3 } }, 'Transfer.StartUnavailable'],
    ['a refused connection (ECONNREFUSED, no status)', { name: 'Error', code: 'ECONNREFUSED', $metadata: {} }, 'Transfer.StartUnavailable'],
    ['a DNS failure (EAI_AGAIN)', { name: 'Error', code: 'EAI_AGAIN' }, 'Transfer.StartUnavailable'],
    ['AccessDeniedException', { name: 'AccessDeniedException', $metadata: { httpStatusCode: 400 } }, 'Transfer.ConfigurationError'],
    ['InvalidExecutionInput', { name: 'InvalidExecutionInput', $metadata: { httpStatusCode: 400 } }, 'Transfer.StartFailed'],
    ['an error without status or network code', { name: 'SomethingElse' }, 'Transfer.StartFailed'],
  ])('maps %s', (_what, fields, expected) => {
    expect(startExecutionError(Object.assign(new Error('boom'), fields), ARN).name).toBe(expected);
  });
});

describe('Step Functions unreachable (the real SFNClient against loopback sockets)', () => {
  const body = { source: { bucket: 'exports', key: 'in/a.bin' }, destination: { folderId: '77' } };

  async function withClient(port: number, run: (client: SFNClient) => Promise<void>): Promise<void> {
    const real = new SFNClient({ endpoint: `http://127.0.0.1:${port}`, region: 'eu-west-1', credentials: { accessKeyId: 'test', secretAccessKey: 'test' }, maxAttempts: 1 });
    try {
      await run(real);
    } finally {
      real.destroy();
    }
  }

  it('answers 503 Transfer.StartUnavailable with Retry-After on a refused connection, and fails S3 events with it', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    await withClient(port, async (real) => {
      const handler = makeStartTransferHandler({ ...deps, sfn: real });
      const res = (await handler(httpEvent({ body }), lambdaContext())) as APIGatewayProxyStructuredResultV2;
      expect(res.statusCode).toBe(503);
      expect(res.headers).toMatchObject({ 'Retry-After': '1' });
      expect(JSON.parse(String(res.body))).toMatchObject({ error: 'Transfer.StartUnavailable', message: expect.stringContaining('ECONNREFUSED') as unknown });
      await expect(handler(s3Notification([{ bucket: 'exports', key: 'in/a.bin', sequencer: '1' }]), lambdaContext())).rejects.toMatchObject({
        name: 'Transfer.StartUnavailable',
      });
    });
  });

  it('answers 503 Transfer.StartUnavailable when the connection is reset before an answer', async () => {
    const resetting = http.createServer((req) => req.socket.destroy());
    await new Promise<void>((resolve) => resetting.listen(0, '127.0.0.1', resolve));
    try {
      await withClient((resetting.address() as AddressInfo).port, async (real) => {
        const res = (await makeStartTransferHandler({ ...deps, sfn: real })(httpEvent({ body }), lambdaContext())) as APIGatewayProxyStructuredResultV2;
        expect([res.statusCode, (JSON.parse(String(res.body)) as { error: string }).error]).toEqual([503, 'Transfer.StartUnavailable']);
      });
    } finally {
      await new Promise<void>((resolve) => resetting.close(() => resolve()));
    }
  });
});

describe('POST /transfers', () => {
  const body = { source: { bucket: 'exports', key: 'in/a.bin' }, destination: { folderId: '77' } };

  async function call(event: ReturnType<typeof httpEvent>, d: StartTransferDeps | (() => StartTransferDeps) = deps): Promise<APIGatewayProxyStructuredResultV2 & { json: Record<string, unknown> }> {
    const res = (await makeStartTransferHandler(d)(event, lambdaContext())) as APIGatewayProxyStructuredResultV2;
    return { ...res, json: JSON.parse(String(res.body)) as Record<string, unknown> };
  }

  it('answers 202 with the execution; the input is the validated body', async () => {
    const startDate = new Date();
    sfn.on(StartExecutionCommand).callsFake((input: { name: string }) => started(input.name, startDate));
    const res = await call(httpEvent({ body }));
    expect(res.statusCode).toBe(202);
    expect(res.headers).toMatchObject({ 'Content-Type': 'application/json' });
    const name = String(res.json.executionName);
    expect(res.json).toEqual({
      name,
      executionArn: expect.stringMatching(/:execution:s3-to-box-test:http-[0-9a-f-]{36}$/) as unknown,
      executionName: expect.stringMatching(/^http-[0-9a-f-]{36}$/) as unknown,
      startDate: startDate.toISOString(),
      statusUrl: `https://abc123.execute-api.us-east-1.amazonaws.com/transfers/${name}`,
    });
    expect(JSON.parse(sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input.input ?? '')).toEqual(body);
  });

  it('answers 200 alreadyStarted, with the first start date, when Step Functions answers a repeat with the running execution', async () => {
    const earlier = new Date(Date.now() - 60_000);
    sfn.on(StartExecutionCommand).callsFake((input: { name: string }) => started(input.name, earlier));
    const res = await call(httpEvent({ body, headers: { 'Idempotency-Key': 'order-43' } }));
    const name = executionNameForIdempotencyKey('order-43');
    expect(res.statusCode).toBe(200);
    expect(res.json).toEqual({
      name,
      executionArn: `arn:aws:states:eu-west-1:123456789012:execution:s3-to-box-test:${name}`,
      executionName: name,
      startDate: earlier.toISOString(),
      statusUrl: `https://abc123.execute-api.us-east-1.amazonaws.com/transfers/${name}`,
      alreadyStarted: true,
    });
    expect(logLines.some((l) => l.message === 'transfer already started' && l.executionName === name)).toBe(true);
  });

  it('starts the bulk state machine for a prefix or manifest source, the one-object machine otherwise', async () => {
    const BULK = 'arn:aws:states:eu-west-1:123456789012:stateMachine:s3-to-box-bulk-test';
    sfn.on(StartExecutionCommand).callsFake((input: { name: string; stateMachineArn: string }) => ({
      executionArn: `${input.stateMachineArn.replace(':stateMachine:', ':execution:')}:${input.name}`,
      startDate: new Date(),
    }));
    const prefix = { source: { bucket: 'exports', prefix: 'in/2026/' }, destination: { folderId: '5' }, report: { bucket: 'reports' } };
    const manifest = { source: { bucket: 'exports', manifest: { bucket: 'lists', key: 'm.csv', format: 'csv' } }, destination: { folderId: '5' }, report: { bucket: 'reports' } };
    const withBulk = { ...deps, bulkStateMachineArn: BULK };
    for (const request of [prefix, manifest]) {
      const res = await call(httpEvent({ body: request }), withBulk);
      expect(res.statusCode).toBe(202);
      expect(String(res.json.executionArn)).toMatch(/:execution:s3-to-box-bulk-test:http-/);
    }
    await call(httpEvent({ body }), withBulk);
    const calls = sfn.commandCalls(StartExecutionCommand).map((c) => c.args[0].input);
    expect(calls.map((c) => c.stateMachineArn)).toEqual([BULK, BULK, STATE_MACHINE_ARN]);
    expect(calls.map((c) => JSON.parse(c.input ?? '') as unknown)).toEqual([prefix, manifest, body]);

    // No bulk state machine configured: 500 naming the variable; no bucket: 400. Nothing started.
    const unconfigured = await call(httpEvent({ body: prefix }));
    expect([unconfigured.statusCode, unconfigured.json.error]).toEqual([500, 'Transfer.ConfigurationError']);
    const noBucket = await call(httpEvent({ body: { source: { prefix: 'a/' }, destination: { folderId: '5' }, report: { bucket: 'reports' } } }), withBulk);
    expect(noBucket.statusCode).toBe(400);
    expect(noBucket.json).toEqual({ error: 'Transfer.InvalidInput', message: 'Invalid sync input: source.bucket is required' });
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(3);
    expect(logLines.some((l) => l.message === 'POST /transfers refused' && JSON.stringify(l).includes('BULK_STATE_MACHINE_ARN'))).toBe(true);
  });

  // A bulk body gets the bulk run's own validator at the door, so bad input is a 400 that names
  // the field, never a run that fails later.
  it.each([
    [{ source: { bucket: 'exports', prefix: 5 }, destination: { folderId: '5' }, report: { bucket: 'reports' }, oops: 1 }, ['source.prefix must be a string', 'oops is not a known field']],
    [{ source: { bucket: 'exports', key: 'in/a.bin', prefix: 'in/' }, destination: { folderId: '5' }, report: { bucket: 'reports' } }, ['source.key is not a known field']],
    [{ source: { bucket: 'exports', prefix: 'in/', manifest: { bucket: 'lists', key: 'm.csv', format: 'csv' } }, destination: { folderId: '5' }, report: { bucket: 'reports' } }, ['exactly one of prefix and manifest']],
    [{ source: { bucket: 'exports', manifest: { bucket: 'lists', key: 'm.csv', format: 'xlsx' } }, destination: { folderId: '5' }, report: { bucket: 'reports' } }, ['source.manifest.format must be one of']],
    [{ source: { bucket: 'exports', prefix: 'in/' }, destination: { folderId: 'five' }, report: { bucket: 'reports' } }, ['destination.folderId must be a string of digits']],
    [{ source: { bucket: 'exports', prefix: 'in/' }, destination: { folderId: '5' } }, ['report is required']],
    [{ source: { bucket: 'exports', prefix: 'in/' }, destination: { folderId: '5' }, report: { bucket: 'reports' }, options: { objectsInFlight: '8' } }, ['options.objectsInFlight must be an integer']],
    [{ source: { bucket: 'exports', prefix: 'in/' }, destination: { folderId: '5' }, report: { bucket: 'reports' }, layout: 'tree' }, ['layout must be one of']],
  ])('refuses a bad bulk body with 400 Transfer.InvalidInput naming the field, and starts nothing: %j', async (request, expected) => {
    const withBulk = { ...deps, bulkStateMachineArn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:s3-to-box-bulk-test' };
    const res = await call(httpEvent({ body: request }), withBulk);
    expect(res.statusCode).toBe(400);
    expect(res.json.error).toBe('Transfer.InvalidInput');
    for (const part of expected) expect(String(res.json.message)).toContain(part);
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it('always answers 202 for a request without Idempotency-Key: its random name cannot have run before', async () => {
    // Even a start date far behind our clock (skewed clocks) does not make a random name a repeat.
    sfn.on(StartExecutionCommand).callsFake((input: { name: string }) => started(input.name, new Date(Date.now() - 60_000)));
    const res = await call(httpEvent({ body }));
    expect(res.statusCode).toBe(202);
    expect(res.json).not.toHaveProperty('alreadyStarted');
  });

  it('names the execution from Idempotency-Key (any header case) and answers 200 alreadyStarted on a repeat', async () => {
    sfn
      .on(StartExecutionCommand)
      .callsFakeOnce((input: { name: string }) => started(input.name))
      .rejects(new ExecutionAlreadyExists({ message: 'Execution Already Exists', $metadata: {} }));
    const first = await call(httpEvent({ body, headers: { 'Idempotency-Key': 'order-42' } }));
    const second = await call(httpEvent({ body, headers: { 'idempotency-key': 'order-42' } }));
    const name = executionNameForIdempotencyKey('order-42');
    expect(first.statusCode).toBe(202);
    expect(first.json.executionName).toBe(name);
    expect(second.statusCode).toBe(200);
    expect(second.json).toEqual({
      name,
      executionArn: `arn:aws:states:eu-west-1:123456789012:execution:s3-to-box-test:${name}`,
      executionName: name,
      statusUrl: `https://abc123.execute-api.us-east-1.amazonaws.com/transfers/${name}`,
      alreadyStarted: true,
    });
  });

  it('answers 400 Transfer.InvalidInput naming the field, before calling Step Functions', async () => {
    const res = await call(httpEvent({ body: { source: { bucket: 'exports', key: 'a' }, destination: { folderId: 'abc' }, extra: 1 } }));
    expect(res.statusCode).toBe(400);
    expect(res.headers).toMatchObject({ 'Content-Type': 'application/json' });
    expect(res.json).toEqual({
      error: 'Transfer.InvalidInput',
      message: 'Invalid transfer input: extra is not a known field; destination.folderId must be a string of digits',
    });
    const noName = await call(httpEvent({ body: { source: { bucket: 'exports', key: 'dir/' }, destination: { folderId: '1' } } }));
    expect(noName.statusCode).toBe(400);
    expect(noName.json.message).toMatch(/^destination.fileName is required/);
    // A typed Box name Box would reject: refused at the door, naming the segment.
    const badSegment = await call(httpEvent({ body: { source: { bucket: 'exports', key: 'a' }, destination: { folderId: '1', folderPath: `ok/${'x'.repeat(256)}` } } }));
    expect([badSegment.statusCode, badSegment.json.error]).toEqual([400, 'Transfer.InvalidInput']);
    expect(badSegment.json.message).toContain('destination.folderPath segment 2');
    const nbspName = await call(httpEvent({ body: { source: { bucket: 'exports', key: 'a' }, destination: { folderId: '1', fileName: '\u00a0a.bin' } } }));
    expect(nbspName.json.message).toContain('destination.fileName "\u00a0a.bin" starts or ends with whitespace');
    const badKey = await call(httpEvent({ body, headers: { 'Idempotency-Key': 'two words' } }));
    expect(badKey.statusCode).toBe(400);
    expect(badKey.json.message).toMatch(/^Idempotency-Key header/);
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });

  it('answers bad JSON, a wrong content type and other routes with JSON errors', async () => {
    const badJson = await call(httpEvent({ rawBody: '{"source":' }));
    expect([badJson.statusCode, badJson.json]).toEqual([400, { error: 'Transfer.InvalidInput', message: 'The request body is not valid JSON' }]);
    const text = await call(httpEvent({ rawBody: 'hello', headers: { 'Content-Type': 'text/plain' } }));
    expect([text.statusCode, text.json.error]).toEqual([415, 'Http.UnsupportedMediaType']);
    const get = await call(httpEvent({ method: 'GET', path: '/transfers' }));
    expect([get.statusCode, get.json.error]).toEqual([404, 'Http.NotFound']);
    // A REST API or payload 1.0 integration: the deployment is wrong, said as JSON (not an S3-event result).
    const v1 = await call({ resource: '/transfers', path: '/transfers', httpMethod: 'POST', headers: {}, requestContext: { requestId: 'r' }, body: '{}' } as unknown as ReturnType<typeof httpEvent>);
    expect(v1.statusCode).toBe(500);
    expect(v1.json).toEqual({
      error: 'Transfer.ConfigurationError',
      message: expect.stringMatching(/^The API integration is misconfigured \(request lambda-req-1\): .*HTTP API \(payload 2.0\) request$/) as unknown,
    });
    sfn.on(StartExecutionCommand).callsFake((input: { name: string }) => started(input.name));
    const b64 = await call(httpEvent({ body, base64: true }));
    expect(b64.statusCode).toBe(202);
  });

  it('answers 503 with Retry-After when throttled, 500 when misconfigured, without internals', async () => {
    sfn.on(StartExecutionCommand).rejectsOnce(throttled()).rejects(new StateMachineDoesNotExist({ message: 'State Machine Does Not Exist', $metadata: {} }));
    const busy = await call(httpEvent({ body }));
    expect(busy.statusCode).toBe(503);
    expect(busy.headers).toMatchObject({ 'Retry-After': '1' });
    expect(busy.json.error).toBe('Transfer.StartThrottled');
    const broken = await call(httpEvent({ body }));
    expect(broken.statusCode).toBe(500);
    expect(broken.json).toEqual({ error: 'Transfer.ConfigurationError', message: "The function is misconfigured (request lambda-req-1); see its logs" });
    expect(logLines.some((l) => l.level === 'error' && (l.error as { name?: string }).name === 'Transfer.ConfigurationError')).toBe(true);
  });

  it('answers 500 when the environment is unusable (checked on the first invocation, and again on each while broken)', async () => {
    vi.stubEnv('LOG_LEVEL', 'silent'); // the fallback logger of a handler without deps
    const res = await call(httpEvent({ body }), () => startTransferDepsFromEnv({ STATE_MACHINE_ARN, TRANSFER_ROUTES: '[{"bucket":"exports"}]' }));
    expect(res.statusCode).toBe(500);
    expect(res.json.error).toBe('Transfer.ConfigurationError');
    expect(() => startTransferDepsFromEnv({})).toThrow('STATE_MACHINE_ARN is not set');
    expect(() => startTransferDepsFromEnv({ STATE_MACHINE_ARN, TRANSFER_ROUTES: '[{"bucket":"exports","folderId":"1","onConflict":"x"}]' })).toThrow(
      'TRANSFER_ROUTES: routes[0].onConflict must be one of',
    );
  });

  it('the deployed handler reads its environment on the first invocation, and again on each while it is unusable', async () => {
    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const env = { LOG_LEVEL: 'silent', STATE_MACHINE_ARN, SFN_ENDPOINT: `http://127.0.0.1:${port}`, AWS_REGION: 'eu-west-1', AWS_MAX_ATTEMPTS: '1', AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' };
    for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
    vi.stubEnv('TRANSFER_ROUTES', '[{"bucket":"exports"}]');
    const post = async (): Promise<[number | undefined, unknown]> => {
      const res = (await deployedHandler(httpEvent({ body }), lambdaContext())) as APIGatewayProxyStructuredResultV2;
      return [res.statusCode, (JSON.parse(String(res.body)) as { error?: string }).error];
    };
    expect(await post()).toEqual([500, 'Transfer.ConfigurationError']);
    expect(await post()).toEqual([500, 'Transfer.ConfigurationError']);
    vi.stubEnv('TRANSFER_ROUTES', '[{"bucket":"exports","folderId":"1"}]');
    // Now built (and kept): the call reaches for Step Functions, which is not there.
    expect(await post()).toEqual([503, 'Transfer.StartUnavailable']);
    vi.stubEnv('TRANSFER_ROUTES', 'not json');
    expect(await post()).toEqual([503, 'Transfer.StartUnavailable']);
    (defaultStartTransferDeps().sfn as SFNClient).destroy();
  });
});
