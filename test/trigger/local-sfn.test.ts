// The local Step Functions server, through the real @aws-sdk/client-sfn: AWS's rules for repeated
// execution names, its error codes, DescribeExecution and StopExecution, and the startTransfer handler's
// answers to repeats. Prepare is replaced by a handler the test holds, so "still running" is a fact, not a race.
import { S3Client } from '@aws-sdk/client-s3';
import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  InvalidName,
  SFNClient,
  StartExecutionCommand,
  StateMachineDoesNotExist,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import type { APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { makeStartTransferHandler } from '../../functions/startTransfer.ts';
import type { StartTransferHandler } from '../../functions/startTransfer.ts';
import { InvalidInputError } from '../../src/transfer/errors.ts';
import { createJsonLogger, silentLogger } from '../../src/transfer/logger.ts';
import type { S3TriggerResult } from '../../src/trigger/start.ts';
import { MAX_EXECUTION_NAME_LENGTH } from '../../src/trigger/names.ts';
import { parseRoutes } from '../../src/trigger/routes.ts';
import { startLocalStepFunctions } from '../../local/sfn/index.ts';
import type { LocalStepFunctions } from '../../local/sfn/index.ts';
import { httpEvent, lambdaContext, s3Notification } from './events.ts';

let server: LocalStepFunctions;
let s3: S3Client;
let sfn: SFNClient;
let release: () => void;
let prepareCalls: number;

beforeEach(async () => {
  prepareCalls = 0;
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  release = open;
  s3 = new S3Client({ region: 'us-east-1' }); // never called: Prepare is held, then fails
  server = await startLocalStepFunctions({
    deps: { s3, box: () => Promise.reject(new Error('no Box here')), logger: silentLogger },
    run: {
      waitTimeScale: 0,
      handlers: {
        // Held until release(), then fails the execution with a named error (no S3 or Box needed).
        Prepare: async () => {
          prepareCalls += 1;
          await gate;
          throw new InvalidInputError('held Prepare released');
        },
      },
    },
  });
  sfn = new SFNClient({ endpoint: server.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
});

afterEach(async () => {
  release();
  sfn.destroy();
  await server.close();
  s3.destroy();
});

const input = JSON.stringify({ source: { bucket: 'b-bucket', key: 'k' }, destination: { folderId: '1' } });

async function settled(executionArn: string): Promise<string | undefined> {
  for (let i = 0; i < 1000; i++) {
    const d = await sfn.send(new DescribeExecutionCommand({ executionArn }));
    if (d.status !== 'RUNNING') return d.status;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return 'RUNNING';
}

describe('local Step Functions server (real SFNClient over HTTP)', () => {
  it('follows AWS for a repeated name: same input while running -> the same execution; other input or after the end -> ExecutionAlreadyExists', async () => {
    const first = await sfn.send(new StartExecutionCommand({ stateMachineArn: server.stateMachineArn, name: 'job-1', input }));
    expect(first.executionArn).toBe('arn:aws:states:us-east-1:123456789012:execution:s3-to-box-local:job-1');
    expect(first.startDate).toBeInstanceOf(Date);

    const same = await sfn.send(new StartExecutionCommand({ stateMachineArn: server.stateMachineArn, name: 'job-1', input }));
    expect(same).toMatchObject({ executionArn: first.executionArn, startDate: first.startDate });
    await expect(sfn.send(new StartExecutionCommand({ stateMachineArn: server.stateMachineArn, name: 'job-1', input: '{"other":1}' }))).rejects.toBeInstanceOf(
      ExecutionAlreadyExists,
    );
    const running = await sfn.send(new DescribeExecutionCommand({ executionArn: first.executionArn }));
    expect(running).toMatchObject({ status: 'RUNNING', name: 'job-1', input, stateMachineArn: server.stateMachineArn });

    release();
    expect(await settled(first.executionArn!)).toBe('FAILED');
    const failed = await sfn.send(new DescribeExecutionCommand({ executionArn: first.executionArn }));
    expect(failed).toMatchObject({ error: 'Transfer.InvalidInput' });
    expect(JSON.parse(failed.cause!)).toEqual({ error: { name: 'Transfer.InvalidInput', message: 'held Prepare released' }, resumable: false });
    expect(failed.stopDate).toBeInstanceOf(Date);
    await expect(sfn.send(new StartExecutionCommand({ stateMachineArn: server.stateMachineArn, name: 'job-1', input }))).rejects.toBeInstanceOf(ExecutionAlreadyExists);

    expect(prepareCalls).toBe(1);
    expect(server.stats()).toEqual({ startCalls: 4, started: 1, idempotentRepeats: 1, alreadyExists: 2 });
  });

  it('answers StateMachineDoesNotExist, InvalidName and ExecutionDoesNotExist as AWS does', async () => {
    await expect(
      sfn.send(new StartExecutionCommand({ stateMachineArn: 'arn:aws:states:us-east-1:123456789012:stateMachine:nope', input })),
    ).rejects.toBeInstanceOf(StateMachineDoesNotExist);
    await expect(sfn.send(new StartExecutionCommand({ stateMachineArn: server.stateMachineArn, name: 'has space', input }))).rejects.toBeInstanceOf(InvalidName);
    await expect(
      sfn.send(new StartExecutionCommand({ stateMachineArn: server.stateMachineArn, name: 'x'.repeat(MAX_EXECUTION_NAME_LENGTH + 1), input })),
    ).rejects.toBeInstanceOf(InvalidName);
    await expect(
      sfn.send(new DescribeExecutionCommand({ executionArn: 'arn:aws:states:us-east-1:123456789012:execution:s3-to-box-local:none' })),
    ).rejects.toBeInstanceOf(ExecutionDoesNotExist);
    expect(server.executions()).toEqual([]);
  });

  it('stops a running execution (ABORTED)', async () => {
    const { executionArn } = await sfn.send(new StartExecutionCommand({ stateMachineArn: server.stateMachineArn, input }));
    expect(executionArn).toMatch(/:execution:s3-to-box-local:[0-9a-f-]{36}$/);
    const stopped = await sfn.send(new StopExecutionCommand({ executionArn }));
    expect(stopped.stopDate).toBeInstanceOf(Date);
    expect((await sfn.send(new DescribeExecutionCommand({ executionArn }))).status).toBe('ABORTED');
  });
});

describe('startTransfer against the local server while the first execution runs', () => {
  let logLines: Record<string, unknown>[];
  let handler: StartTransferHandler;

  beforeEach(() => {
    logLines = [];
    handler = makeStartTransferHandler({
      sfn,
      stateMachineArn: server.stateMachineArn,
      routes: parseRoutes('[{"bucket":"exports","prefix":"in/","folderId":"7"}]'),
      logger: createJsonLogger({ write: (line) => logLines.push(JSON.parse(line) as Record<string, unknown>) }),
      // One clock for the server and the handler here: no skew to allow for, so no repeat needs to wait a second.
      clockSkewToleranceMs: 0,
    });
  });

  /** Until this clock has passed `date`: a repeat then comes strictly after the first start, as it would in real life. */
  async function after(date: string | undefined): Promise<void> {
    const t = Date.parse(date ?? '');
    expect(Number.isNaN(t)).toBe(false);
    while (Date.now() <= t) await new Promise((resolve) => setTimeout(resolve, 1));
  }

  it('answers a repeated Idempotency-Key POST 200 alreadyStarted with the running execution', async () => {
    const body = { source: { bucket: 'exports', key: 'in/a.bin' }, destination: { folderId: '7' } };
    const first = (await handler(httpEvent({ body, headers: { 'Idempotency-Key': 'job-7' } }), lambdaContext('r1'))) as APIGatewayProxyStructuredResultV2;
    expect(first.statusCode).toBe(202);
    const accepted = JSON.parse(String(first.body)) as { executionArn: string; executionName: string; startDate: string };
    await after(accepted.startDate);

    const repeat = (await handler(httpEvent({ body, headers: { 'Idempotency-Key': 'job-7' } }), lambdaContext('r2'))) as APIGatewayProxyStructuredResultV2;
    expect(repeat.statusCode).toBe(200);
    expect(JSON.parse(String(repeat.body))).toEqual({ ...accepted, alreadyStarted: true });
    expect(server.stats()).toEqual({ startCalls: 2, started: 1, idempotentRepeats: 1, alreadyExists: 0 });
    expect((await sfn.send(new DescribeExecutionCommand({ executionArn: accepted.executionArn }))).status).toBe('RUNNING');
    expect(logLines.filter((l) => l.executionName === accepted.executionName).map((l) => [l.requestId, l.message])).toEqual([
      ['r1', 'transfer started'],
      ['r2', 'transfer already started'],
    ]);
    expect(prepareCalls).toBe(1);
  });

  it('reports a redelivered S3 event as already started, not as a new start', async () => {
    const event = s3Notification([{ bucket: 'exports', key: 'in/b.bin', sequencer: '0055AED6DCD90281E5' }]);
    const first = (await handler(event, lambdaContext('r1'))) as S3TriggerResult;
    expect(first).toMatchObject({ started: 1, alreadyStarted: 0 });
    const outcome = first.outcomes[0];
    if (outcome?.status !== 'started') throw new Error(`not started: ${JSON.stringify(first)}`);
    await after(outcome.startDate);

    const again = (await handler(structuredClone(event), lambdaContext('r2'))) as S3TriggerResult;
    expect(again).toMatchObject({ started: 0, alreadyStarted: 1, skipped: 0 });
    expect(again.outcomes[0]).toEqual({ ...outcome, status: 'already-started' });
    expect(server.stats()).toEqual({ startCalls: 2, started: 1, idempotentRepeats: 1, alreadyExists: 0 });
    expect(logLines.filter((l) => l.key === 'in/b.bin' && l.requestId === 'r2').map((l) => l.message)).toEqual(['transfer already started']);
    expect(logLines.find((l) => l.message === 'S3 event handled' && l.requestId === 'r2')).toMatchObject({ started: 0, alreadyStarted: 1 });
  });
});
