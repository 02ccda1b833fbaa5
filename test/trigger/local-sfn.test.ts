// The local Step Functions server, through the real @aws-sdk/client-sfn: AWS's rules for repeated
// execution names, its error codes, DescribeExecution and StopExecution. Prepare is replaced by a
// handler the test holds, so "still running" is a fact, not a race.
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
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InvalidInputError } from '../../src/transfer/errors.ts';
import { silentLogger } from '../../src/transfer/logger.ts';
import { startLocalStepFunctions } from '../../local/sfn/index.ts';
import type { LocalStepFunctions } from '../../local/sfn/index.ts';

let server: LocalStepFunctions;
let sfn: SFNClient;
let release: () => void;
let prepareCalls: number;

beforeEach(async () => {
  prepareCalls = 0;
  let open!: () => void;
  const gate = new Promise<void>((resolve) => (open = resolve));
  release = open;
  server = await startLocalStepFunctions({
    deps: { s3: new S3Client({ region: 'us-east-1' }), box: () => Promise.reject(new Error('no Box here')), logger: silentLogger },
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
    expect(failed).toMatchObject({ error: 'Transfer.InvalidInput', cause: 'held Prepare released' });
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
    await expect(sfn.send(new StartExecutionCommand({ stateMachineArn: server.stateMachineArn, name: 'x'.repeat(81), input }))).rejects.toBeInstanceOf(InvalidName);
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
