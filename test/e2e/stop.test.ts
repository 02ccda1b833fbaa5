// A user's stop: StopExecution on the local Step Functions API (real @aws-sdk/client-sfn over loopback)
// stops a running transfer, and the real AbortOnStop handler, given the event EventBridge would deliver,
// reads the execution's history from the same API and aborts the Box session. Also the core against
// Step Functions answers it cannot get from the local API (paging, other statuses, Box errors).
import { DescribeExecutionCommand, GetExecutionHistoryCommand, SFNClient, StartExecutionCommand, StopExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startLocalStepFunctions } from '../../local/sfn/index.ts';
import type { LocalStepFunctions } from '../../local/sfn/index.ts';
import { withRequestBudget } from '../../src/box/budget.ts';
import { BoxNotFoundError, BoxServerError } from '../../src/box/errors.ts';
import type { BoxClientLike } from '../../src/transfer/boxPort.ts';
import { silentLogger } from '../../src/transfer/logger.ts';
import { abortStoppedTransfer } from '../../src/transfer/stop.ts';
import { rejection } from '../support/rejection.ts';
import { spendableBudget } from '../support/spendable-budget.ts';
import { holdingBoxCall, inputFor, startEnv } from './harness.ts';
import type { E2eEnv } from './harness.ts';

const PART = 64 * 1024;

describe('StopExecution aborts the Box session (local Step Functions API)', () => {
  let env: E2eEnv;
  let api: LocalStepFunctions;
  let sfn: SFNClient;
  /** What the Lambdas' Box client goes through in a test (default: the client itself). */
  let boxSeenBy: (client: BoxClientLike) => BoxClientLike;
  beforeEach(async () => {
    env = await startEnv({ emulator: { partSize: PART, minChunkedFileSize: 100_000 }, settings: { directUploadMax: 100_000 } });
    boxSeenBy = (client) => client;
    const deps = { ...env.deps, box: async () => boxSeenBy(await env.deps.box()) };
    api = await startLocalStepFunctions({ deps, run: { waitTimeScale: 0 } });
    sfn = new SFNClient({ endpoint: api.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'local', secretAccessKey: 'local' }, maxAttempts: 1 });
  });
  afterEach(async () => {
    sfn?.destroy();
    await api?.close();
    await env?.close();
  });

  it('M16 a stopped transfer has its session aborted by AbortOnStop, found through GetExecutionHistory', async () => {
    const folder = await env.box.createFolder('stopped');
    await env.put('stop/me.bin', 30 * PART);
    // Every part upload is held at Box until the stop has been handled: the transfer is surely mid-way.
    let release!: () => void;
    env.box.faults.inject({ operation: 'uploadPart', action: { type: 'hold', until: new Promise<void>((resolve) => (release = resolve)) } });
    const started = await sfn.send(
      new StartExecutionCommand({ stateMachineArn: api.stateMachineArn, name: 'stop-me', input: JSON.stringify(inputFor('stop/me.bin', folder.id, { options: { concurrency: 2 } })) }),
    );
    for (let i = 0; i < 2400 && (env.box.stats().requests.uploadPart ?? 0) < 2; i++) await sleep(25);
    expect(env.box.stats().requests.uploadPart).toBe(2); // two in flight (concurrency 2), both held
    const [session] = env.box.listSessions();
    expect(session?.status).toBe('open');

    // The history so far, paged as AWS pages it: Prepare's output holds the session.
    const first = await sfn.send(new GetExecutionHistoryCommand({ executionArn: started.executionArn, maxResults: 2 }));
    expect(first.events?.map((e) => e.type)).toEqual(['ExecutionStarted', 'TaskStateEntered']);
    expect(first.nextToken).toBeDefined();
    const second = await sfn.send(new GetExecutionHistoryCommand({ executionArn: started.executionArn, maxResults: 2, nextToken: first.nextToken }));
    expect(second.events?.[0]).toMatchObject({ type: 'TaskStateExited', id: 3, previousEventId: 2, stateExitedEventDetails: { name: 'Prepare' } });
    expect(JSON.parse(second.events![0]!.stateExitedEventDetails!.output!)).toMatchObject({ transfer: { session: { id: session!.id } } });

    await sfn.send(new StopExecutionCommand({ executionArn: started.executionArn }));
    const record = api.executions().find((e) => e.executionArn === started.executionArn)!;
    expect(record.status).toBe('ABORTED');
    expect(record.abortOnStop).toEqual({ executionArn: started.executionArn, sessionId: session!.id, aborted: true });
    // The two parts still in flight go on as a running Lambda's would, and meet the aborted session.
    release();
    await record.idle;
    expect(env.box.listSessions().map((s) => [s.id, s.status])).toEqual([[session!.id, 'aborted']]);
    expect(env.box.findFile(folder.id, 'me.bin')).toBeUndefined();
    const history = await sfn.send(new GetExecutionHistoryCommand({ executionArn: started.executionArn, reverseOrder: true, maxResults: 1 }));
    expect(history.events?.[0]?.type).toBe('ExecutionAborted');
  });

  it('a nested transfer keeps its session when its parent execution has ended (the parent stopped it), and loses it to a stop while the parent runs', async () => {
    const folder = await env.box.createFolder('nested');
    for (const key of ['stop/parent.bin', 'stop/kept.bin', 'stop/user.bin']) await env.put(key, 30 * PART);
    let release!: () => void;
    env.box.faults.inject({ operation: 'uploadPart', action: { type: 'hold', until: new Promise<void>((resolve) => (release = resolve)) } });
    const start = async (name: string, key: string, parent?: string) =>
      (await sfn.send(new StartExecutionCommand({
        stateMachineArn: api.stateMachineArn,
        name,
        input: JSON.stringify({ ...inputFor(key, folder.id, { options: { concurrency: 1 } }), ...(parent !== undefined ? { AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID: parent } : {}) }),
      }))).executionArn!;
    const uploading = async (n: number) => {
      for (let i = 0; i < 2400 && (env.box.stats().requests.uploadPart ?? 0) < n; i++) await sleep(25);
      expect(env.box.stats().requests.uploadPart).toBe(n);
    };
    const sessionOf = (name: string) => env.box.listSessions().find((s) => s.fileName === name);
    const record = (arn: string) => api.executions().find((e) => e.executionArn === arn)!;

    // A parent that is still running: a stop of its nested transfer is a user's stop.
    const parent = await start('parent', 'stop/parent.bin');
    await uploading(1);
    const byUser = await start('nested-user', 'stop/user.bin', parent);
    await uploading(2);
    await sfn.send(new StopExecutionCommand({ executionArn: byUser }));
    expect(record(byUser).abortOnStop).toEqual({ executionArn: byUser, sessionId: sessionOf('user.bin')!.id, aborted: true });

    // The parent ends (here: stopped); a nested transfer stopped after that was stopped by its parent's end.
    const byParent = await start('nested-kept', 'stop/kept.bin', parent);
    await uploading(3);
    await sfn.send(new StopExecutionCommand({ executionArn: parent }));
    expect(record(parent).status).toBe('ABORTED');
    await sfn.send(new StopExecutionCommand({ executionArn: byParent }));
    const kept = sessionOf('kept.bin')!;
    expect(record(byParent).abortOnStop).toEqual({
      executionArn: byParent,
      sessionId: kept.id,
      aborted: false,
      reason: `stopped by its parent execution ${parent} (ABORTED), not by a user: the session is kept for resuming`,
    });
    release();
    for (const arn of [parent, byUser, byParent]) await record(arn).idle;
    await env.box.settled();
    expect(env.box.listSessions().map((s) => [s.fileName, s.status]).sort()).toEqual([['kept.bin', 'open'], ['parent.bin', 'aborted'], ['user.bin', 'aborted']]);
  });

  it('a stop while Prepare is creating the session aborts nothing; that session is left open (to expire)', async () => {
    const folder = await env.box.createFolder('early');
    await env.put('stop/early.bin', 30 * PART);
    // Prepare's create-session request is held until the test lets it go (after the stop has been handled).
    let reached!: () => void;
    const atCreate = new Promise<void>((resolve) => (reached = resolve));
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    boxSeenBy = (client) =>
      holdingBoxCall(client, 'createFileUploadSession', async () => {
        reached();
        await held;
      });
    const started = await sfn.send(
      new StartExecutionCommand({ stateMachineArn: api.stateMachineArn, name: 'stop-early', input: JSON.stringify(inputFor('stop/early.bin', folder.id)) }),
    );
    await atCreate;
    await sfn.send(new StopExecutionCommand({ executionArn: started.executionArn }));
    const record = api.executions().find((e) => e.executionArn === started.executionArn)!;
    expect(record.status).toBe('ABORTED');
    expect(record.abortOnStop).toEqual({ executionArn: started.executionArn, aborted: false, reason: 'no upload session in the execution history' });
    expect(env.box.listSessions()).toEqual([]);

    // Prepare, already running, runs to its end as a Lambda would: the session it creates is reported
    // by nothing and left for Box to delete when it expires (README, "A user's stop").
    release();
    await record.idle;
    expect(env.box.listSessions().map((s) => [s.folderId, s.status])).toEqual([[folder.id, 'open']]);
    expect(env.box.findFile(folder.id, 'early.bin')).toBeUndefined();
  });
});

describe('abortStoppedTransfer against Step Functions answers', () => {
  const executionArn = 'arn:aws:states:eu-west-1:123456789012:execution:s3-to-box-prod:big-file';
  const stopped = { source: 'aws.states', 'detail-type': 'Step Functions Execution Status Change', detail: { executionArn, status: 'ABORTED' } };
  const prepared = (id: string) => JSON.stringify({ mode: 'chunked', transfer: { session: { id, endpoints: { abort: `https://upload.box.com/api/2.0/files/upload_sessions/${id}` } } }, batches: [0] });

  function fakeBox(onDelete: (how: string) => void | Promise<void>): BoxClientLike {
    return {
      chunkedUploads: {
        deleteFileUploadSessionByUrl: async (url: string) => onDelete(`url ${url}`),
        deleteFileUploadSessionById: async (id: string) => onDelete(`id ${id}`),
      },
    } as unknown as BoxClientLike;
  }

  it('pages through the history to Prepare\'s output and aborts by the session\'s own abort URL', async () => {
    const sfn = mockClient(SFNClient);
    sfn
      .on(GetExecutionHistoryCommand, { nextToken: undefined })
      .resolves({ events: [{ type: 'ExecutionStarted', id: 1, timestamp: new Date(), executionStartedEventDetails: { input: '{}' } }], nextToken: 'page-2' })
      .on(GetExecutionHistoryCommand, { nextToken: 'page-2' })
      .resolves({ events: [{ type: 'TaskStateExited', id: 5, timestamp: new Date(), stateExitedEventDetails: { name: 'Prepare', output: prepared('ABC123') } }] });
    const deleted: string[] = [];
    const result = await abortStoppedTransfer(stopped, { sfn: new SFNClient({}), box: async () => fakeBox((how) => void deleted.push(how)), logger: silentLogger });
    expect(result).toEqual({ executionArn, sessionId: 'ABC123', aborted: true });
    expect(deleted).toEqual(['url https://upload.box.com/api/2.0/files/upload_sessions/ABC123']);
    expect(sfn.commandCalls(GetExecutionHistoryCommand).map((c) => c.args[0].input)).toEqual([
      { executionArn, maxResults: 1000, reverseOrder: false, includeExecutionData: true, nextToken: undefined },
      { executionArn, maxResults: 1000, reverseOrder: false, includeExecutionData: true, nextToken: 'page-2' },
    ]);
    sfn.restore();
  });

  it('takes a resumed execution\'s session from its input when it was stopped before Prepare finished', async () => {
    const sfn = mockClient(SFNClient);
    sfn.on(GetExecutionHistoryCommand).resolves({
      events: [{ type: 'ExecutionStarted', id: 1, timestamp: new Date(), executionStartedEventDetails: { input: JSON.stringify({ resume: { sessionId: 'RESUMED1' } }) } }],
    });
    const deleted: string[] = [];
    const result = await abortStoppedTransfer(stopped, { sfn: new SFNClient({}), box: async () => fakeBox((how) => void deleted.push(how)), logger: silentLogger });
    expect(result).toMatchObject({ sessionId: 'RESUMED1', aborted: true });
    expect(deleted).toEqual(['id RESUMED1']);
    sfn.restore();
  });

  it('ignores other statuses, treats a session Box no longer has as done, and throws other Box errors (Lambda retries the event)', async () => {
    const sfn = mockClient(SFNClient);
    sfn.on(GetExecutionHistoryCommand).resolves({
      events: [{ type: 'TaskStateExited', id: 3, timestamp: new Date(), stateExitedEventDetails: { name: 'Prepare', output: prepared('GONE1') } }],
    });
    const deps = (onDelete: () => void) => ({ sfn: new SFNClient({}), box: async () => fakeBox(onDelete), logger: silentLogger });
    const failed = { ...stopped, detail: { executionArn, status: 'FAILED' } };
    expect(await abortStoppedTransfer(failed, deps(() => undefined))).toEqual({ executionArn, aborted: false, reason: 'the execution is FAILED, not stopped' });
    expect(await abortStoppedTransfer({}, deps(() => undefined))).toMatchObject({ aborted: false, reason: 'not an execution status change event' });
    expect(sfn.commandCalls(GetExecutionHistoryCommand)).toHaveLength(0);

    const gone = await abortStoppedTransfer(stopped, deps(() => {
      throw new BoxNotFoundError('not found', { status: 404 });
    }));
    expect(gone).toMatchObject({ sessionId: 'GONE1', aborted: false, reason: expect.stringContaining('no such open session') as unknown });
    const error = await rejection(abortStoppedTransfer(stopped, deps(() => {
      throw new BoxServerError('Box answered 503', { status: 503 });
    })));
    expect(error).toMatchObject({ name: 'Box.ServerError' });
    sfn.restore();
  });

  it('keeps the session of a nested transfer whose parent Step Functions no longer knows, and throws when the parent cannot be read', async () => {
    const parent = 'arn:aws:states:eu-west-1:123456789012:execution:s3-to-box-bulk-prod/CopyPrefix:child-1';
    const sfn = mockClient(SFNClient);
    sfn.on(GetExecutionHistoryCommand).resolves({
      events: [
        { type: 'ExecutionStarted', id: 1, timestamp: new Date(), executionStartedEventDetails: { input: JSON.stringify({ AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID: parent }) } },
        { type: 'TaskStateExited', id: 3, timestamp: new Date(), stateExitedEventDetails: { name: 'Prepare', output: prepared('NESTED1') } },
      ],
    });
    sfn.on(DescribeExecutionCommand).rejectsOnce(Object.assign(new Error('Execution Does Not Exist'), { name: 'ExecutionDoesNotExist' })).rejectsOnce(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
    const deleted: string[] = [];
    const deps = { sfn: new SFNClient({}), box: async () => fakeBox((how) => void deleted.push(how)), logger: silentLogger };
    expect(await abortStoppedTransfer(stopped, deps)).toMatchObject({ sessionId: 'NESTED1', aborted: false, reason: expect.stringContaining(`stopped by its parent execution ${parent} (unknown)`) as unknown });
    expect(await rejection(abortStoppedTransfer(stopped, deps))).toMatchObject({ name: 'AccessDeniedException' });
    expect(deleted).toEqual([]);
    expect(sfn.commandCalls(DescribeExecutionCommand).map((c) => c.args[0].input)).toEqual([{ executionArn: parent }, { executionArn: parent }]);
    sfn.restore();
  });

  it('a GetExecutionHistory that Step Functions never answers is cut by the request budget (Transfer.Deadline), not by the Lambda timeout', async () => {
    // A Step Functions client whose request hangs until its abort signal fires, as the SDK's does.
    let seen: AbortSignal | undefined;
    let sent!: () => void;
    const requested = new Promise<void>((resolve) => (sent = resolve));
    const hanging = {
      send: (_command: unknown, options?: { abortSignal?: AbortSignal }) =>
        new Promise((_, reject) => {
          seen = options?.abortSignal;
          seen?.addEventListener('abort', () => reject(Object.assign(new Error('Request aborted'), { name: 'AbortError' })), { once: true });
          sent();
        }),
    } as unknown as Pick<SFNClient, 'send'>;
    const deleted: string[] = [];
    const budget = spendableBudget();
    const running = rejection(withRequestBudget(budget, () => abortStoppedTransfer(stopped, { sfn: hanging, box: async () => fakeBox((how) => void deleted.push(how)), logger: silentLogger })));
    await requested;
    budget.spend();
    expect(await running).toMatchObject({ name: 'Transfer.Deadline', message: expect.stringContaining(`GetExecutionHistory ${executionArn}`) as unknown });
    expect(seen?.aborted).toBe(true); // the request itself was cancelled, not only given up on
    expect(deleted).toEqual([]);
  });
});
