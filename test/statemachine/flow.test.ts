// The flow of the real definition under the local runner, with stub handlers standing in for the Lambdas:
// which Task gets which event, the loops, Retry and Catch, AbortSession + Fail with the original error,
// the Lambda-like context, progress events, and the AWS-equivalent history count.
import { setImmediate as nextMacrotask, setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { TransferAbortedError, TransferExecutionError, startExecution } from '../../local/runner/execution.ts';
import type { ExecutionOptions, LocalLambdaContext, TaskHandler, TransferEvent } from '../../local/runner/execution.ts';
import { makeDescribeFailureHandler } from '../../functions/describeFailure.ts';
import type { CommitProgress, HashProgress, TransferContext, TransferInput, TransferOutput } from '../../src/transfer/contract.ts';
import { silentLogger } from '../../src/transfer/logger.ts';
import { NO_COMMIT_YET } from '../../src/transfer/commit.ts';

const input: TransferInput = { source: { bucket: 'bucket', key: 'dir/big.bin' }, destination: { folderId: '0' } };

function transferContext(batches: number, mode: 'direct' | 'chunked' = 'chunked'): TransferContext {
  return {
    source: { bucket: 'bucket', key: 'dir/big.bin', etag: '"etag"', size: batches * 1000, lastModified: '2026-01-01T00:00:00.000Z' },
    destination: { folderId: '0', fileName: 'big.bin' },
    onConflict: 'version',
    mode,
    ...(mode === 'chunked'
      ? {
          session: {
            id: 'SESSION',
            partSize: 1000,
            totalParts: batches,
            endpoints: { uploadPart: 'u', commit: 'c', abort: 'a', listParts: 'l', status: 's' },
          },
        }
      : {}),
    partsPerBatch: 1,
    partsInFlight: 1,
    mapConcurrency: 2,
  };
}

const output: TransferOutput = {
  file: { id: '42', name: 'big.bin', size: 4000, sha1: 'ab', parentId: '0', versionId: '7' },
  bytes: 4000,
  parts: 4,
  mode: 'chunked',
};

class NamedError extends Error {
  constructor(name: string, message: string) {
    super(message);
    this.name = name;
  }
}

interface Call {
  state: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- events are JSON
  event: any;
  context: LocalLambdaContext;
}

/** Stub handlers for a chunked transfer of `batches` one-part batches; `override` replaces some. */
function stubs(batches: number, override: Record<string, TaskHandler> = {}) {
  const calls: Call[] = [];
  let inFlight = 0;
  let maxInFlight = 0;
  let commitTries = 0;
  const record = (state: string, handler: TaskHandler): TaskHandler => async (event, context) => {
    calls.push({ state, event, context });
    // A macrotask per call, as real I/O would: the nested Map/Parallel logs reach the root log in time.
    await nextMacrotask();
    return handler(event, context);
  };
  const base: Record<string, TaskHandler> = {
    Prepare: async () => ({ mode: 'chunked', transfer: transferContext(batches), batches: [...Array(batches).keys()] }),
    UploadBatch: async (event: { batch: number }) => {
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await sleep(5);
      inFlight -= 1;
      return { batch: event.batch, parts: 1, bytes: 1000, alreadyUploaded: 0 };
    },
    HashObject: async (event: { hash?: HashProgress }): Promise<HashProgress> => {
      const invocations = (event.hash?.invocations ?? 0) + 1;
      return invocations < 2
        ? { offset: 1000, done: false, state: 'c2F2ZWQ=', via: 'computed', invocations }
        : { offset: batches * 1000, done: true, sha1: 'q83vEjRWeJCrze8SNFZ4kKvN7xI=', via: 'computed', invocations };
    },
    Commit: async (event: { commit?: CommitProgress }): Promise<CommitProgress> => {
      commitTries += 1;
      const attempts = (event.commit?.attempts ?? 0) + 1;
      return commitTries === 1
        ? { status: 'processing', retryAfterSeconds: 7, attempts, waitedSeconds: 7 }
        : { status: 'committed', retryAfterSeconds: 0, attempts, waitedSeconds: 7, output };
    },
    DirectUpload: async () => ({ ...output, mode: 'direct', parts: 0 }),
    AbortSession: async () => ({ aborted: true }),
    // The real one: it is pure (no S3, no Box).
    DescribeFailure: makeDescribeFailureHandler({ logger: silentLogger }),
  };
  const handlers: Record<string, TaskHandler> = {};
  for (const [state, handler] of Object.entries({ ...base, ...override })) handlers[state] = record(state, handler);
  return { handlers, calls, maxInFlight: () => maxInFlight, of: (state: string) => calls.filter((c) => c.state === state) };
}

function run(handlers: Record<string, TaskHandler>, extra: Partial<ExecutionOptions> = {}) {
  const events: TransferEvent[] = [];
  const execution = startExecution(input, { handlers, waitTimeScale: 0, onEvent: (e) => events.push(e), ...extra });
  return { execution, events };
}

describe('the transfer state machine with stub handlers', () => {
  it('runs Prepare, the batches beside the hash loop, the commit loop through Wait, and returns the commit output', async () => {
    const s = stubs(4);
    const { execution, events } = run(s.handlers, { executionName: 'exec-1' });
    await expect(execution.result).resolves.toEqual(output);

    expect(s.of('Prepare')).toHaveLength(1);
    expect(s.of('Prepare')[0]!.event).toEqual({ input, executionId: execution.executionArn, retryCount: 0 });
    const batches = s.of('UploadBatch');
    expect(batches.map((c) => c.event.batch).sort()).toEqual([0, 1, 2, 3]);
    for (const c of batches) {
      expect(Object.keys(c.event).sort()).toEqual(['batch', 'executionId', 'retryCount', 'transfer']);
      expect(c.event.retryCount).toBe(0); // $$.State.RetryCount, supplied by the local runner
      expect(c.event.transfer).toEqual(transferContext(4));
      expect(c.event.executionId).toBe(execution.executionArn);
    }
    expect(s.maxInFlight()).toBe(2); // MaxConcurrencyPath $.transfer.mapConcurrency

    const hashes = s.of('HashObject');
    expect(hashes).toHaveLength(2);
    expect(hashes[0]!.event).not.toHaveProperty('hash');
    expect(hashes[0]!.event).not.toHaveProperty('batches');
    expect(hashes[1]!.event.hash).toMatchObject({ offset: 1000, done: false, state: 'c2F2ZWQ=', invocations: 1 });

    const commits = s.of('Commit');
    expect(commits).toHaveLength(2);
    expect(commits[0]!.event).toEqual({
      executionId: execution.executionArn,
      transfer: transferContext(4),
      sha1: 'q83vEjRWeJCrze8SNFZ4kKvN7xI=',
      commit: NO_COMMIT_YET,
      retryCount: 0,
    });
    expect(commits[1]!.event.commit).toMatchObject({ status: 'processing', retryAfterSeconds: 7, attempts: 1 });
    expect(s.of('AbortSession')).toHaveLength(0);

    expect(events.filter((e) => e.type === 'batch-done')).toHaveLength(4);
    expect(events.filter((e) => e.type === 'hash-progress').map((e) => e.type === 'hash-progress' && e.bytes)).toEqual([1000, 4000]);
    expect(events).toContainEqual({ type: 'commit-wait', seconds: 7, waitMs: 0, attempts: 1, waitedSeconds: 7, reason: 'box-processing' });
    expect(events).toContainEqual({ type: 'committed', output });
    expect(events).toContainEqual(expect.objectContaining({ type: 'prepared', mode: 'chunked', totalParts: 4, batches: 4, concurrency: 2 }));
    expect(events).toContainEqual({ type: 'state-entered', state: 'WaitForCommit', stateType: 'Wait' });
    expect(events.at(-1)).toEqual({ type: 'execution-succeeded', output });

    // AWS history for this run, event by event (see local/runner/history.ts):
    // ExecutionStarted 1, Prepare 5, ChooseMode 2, Parallel 4, Map 4, 4 x (iteration 2 + Task 5),
    // StartHash 2, 2 x (HashObject 5 + HashDone 2), Hashed 2, 2 x (Commit 5 + CommitDone 2), Wait 2,
    // Committed 2, ExecutionSucceeded 1.
    const history = await execution.history;
    expect(history.awsEventCount).toBe(1 + 5 + 2 + 4 + 4 + 4 * 7 + 2 + 2 * 7 + 2 + 2 * 7 + 2 + 2 + 1);
    expect(history.awsEventTypes).toMatchObject({
      MapIterationStarted: 4,
      MapIterationSucceeded: 4,
      LambdaFunctionScheduled: 1 + 4 + 2 + 2,
      LambdaFunctionSucceeded: 9,
      WaitStateEntered: 1,
      ParallelStateStarted: 1,
      ExecutionSucceeded: 1,
    });
    expect(history.maxPayloadBytes).toBeGreaterThan(500);
    expect(history.maxPayloadBytes).toBeLessThan(256 * 1024);
  });

  it('takes the direct path for a direct Prepare result and returns DirectUpload output', async () => {
    const s = stubs(0, {
      Prepare: async () => ({ mode: 'direct', transfer: transferContext(1, 'direct'), batches: [] }),
    });
    const { execution, events } = run(s.handlers);
    await expect(execution.result).resolves.toEqual({ ...output, mode: 'direct', parts: 0 });
    expect(s.of('DirectUpload')[0]!.event).toEqual({ executionId: execution.executionArn, mode: 'direct', transfer: transferContext(1, 'direct'), retryCount: 0 });
    expect(s.calls.map((c) => c.state)).toEqual(['Prepare', 'DirectUpload']);
    expect(events.some((e) => e.type === 'uploaded')).toBe(true);
  });

  it('aborts the session after a terminal batch failure and fails with the original Error and the failure document', async () => {
    const s = stubs(4, {
      UploadBatch: async (event: { batch: number }) => {
        if (event.batch === 1) throw new NamedError('Box.IntegrityError', 'part 1 differs from the stored part');
        return { batch: event.batch, parts: 1, bytes: 1000, alreadyUploaded: 0 };
      },
    });
    const { execution, events } = run(s.handlers, { executionName: 'fails' });
    const error = await execution.result.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransferExecutionError);
    const failure = { error: { name: 'Box.IntegrityError', message: 'part 1 differs from the stored part' }, resumable: false };
    expect(error).toMatchObject({ name: 'Box.IntegrityError', error: 'Box.IntegrityError', message: 'part 1 differs from the stored part', executionName: 'fails' });
    expect((error as TransferExecutionError).failure).toEqual(failure);
    expect(JSON.parse((error as TransferExecutionError).cause)).toEqual(failure);
    expect(s.of('UploadBatch').filter((c) => c.event.batch === 1)).toHaveLength(1); // not a retryable error
    expect(s.of('Commit')).toHaveLength(0);
    const aborts = s.of('AbortSession');
    expect(aborts).toHaveLength(1);
    expect(aborts[0]!.event).toEqual({
      executionId: execution.executionArn,
      transfer: transferContext(4),
      error: { Error: 'Box.IntegrityError', Cause: 'part 1 differs from the stored part' },
    });
    expect(events).toContainEqual({ type: 'session-aborted', aborted: true });
    // DescribeFailure sees the execution's input and the whole state at the failure (the abort's outcome included).
    const described = s.of('DescribeFailure');
    expect(described).toHaveLength(1);
    expect(described[0]!.event).toEqual({
      executionId: execution.executionArn,
      input,
      state: {
        mode: 'chunked',
        transfer: transferContext(4),
        batches: [0, 1, 2, 3],
        error: { Error: 'Box.IntegrityError', Cause: 'part 1 differs from the stored part' },
        abort: { aborted: true },
      },
    });
    const history = await execution.history;
    expect(history.events.at(-1)).toMatchObject({ type: 'ExecutionFailed', Error: 'Box.IntegrityError' });
    expect(history.awsEventTypes['ExecutionFailed']).toBe(1);
    expect(history.awsEventTypes['FailStateEntered']).toBe(1);
  });

  it('starts no invocation once the execution has ended; idle waits for the ones still running', async () => {
    let slowReturned = false;
    // Batch 0 returns only when the test lets it (after the execution has failed), however slow the machine.
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    const s = stubs(6, {
      UploadBatch: async (event: { batch: number }) => {
        if (event.batch === 0) {
          await held;
          slowReturned = true;
        }
        if (event.batch === 1) throw new NamedError('Box.IntegrityError', 'part 1 differs');
        return { batch: event.batch, parts: 1, bytes: 1000, alreadyUploaded: 0 };
      },
    });
    const { execution } = run(s.handlers);
    await expect(execution.result).rejects.toMatchObject({ name: 'Box.IntegrityError' });
    const callsAtEnd = s.calls.length;
    expect(slowReturned).toBe(false); // batch 0 is still running, as a Lambda would be
    release();
    await execution.idle;
    expect(slowReturned).toBe(true);
    await sleep(50);
    // Batches queued behind the failed one (MaxConcurrency 2) and retries: nothing ran after the end.
    expect(s.calls.length).toBe(callsAtEnd);
    expect(s.of('UploadBatch').length).toBeLessThan(6);
  });

  it('starts nothing more in a failed Map, nor in the other branch of the failed Parallel, when the failure reaches them within promise turns', async () => {
    const s = stubs(6);
    const batches: number[] = [];
    let hashes = 0;
    let hashFailed!: () => void;
    const hashWaiting = new Promise<void>((resolve) => (hashFailed = resolve));
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    // Not wrapped like the stubs (a macrotask per call): batch 1's failure reaches the Map, which starts the
    // next queued item, and the Parallel, which ends the hash branch's Retry wait, all within promise turns.
    const handlers: Record<string, TaskHandler> = {
      ...s.handlers,
      UploadBatch: async (event: { batch: number }) => {
        batches.push(event.batch);
        if (event.batch === 0) {
          await held;
          return { batch: 0, parts: 1, bytes: 1000, alreadyUploaded: 0 };
        }
        await hashWaiting; // the hash branch is in its Retry wait now
        await nextMacrotask();
        throw new NamedError('Box.IntegrityError', `part ${event.batch} differs`);
      },
      HashObject: async () => {
        hashes += 1;
        hashFailed();
        throw new NamedError('Transfer.S3Throttled', 'slow down');
      },
    };
    const { execution } = run(handlers, { retryIntervalOverrides: { HashObject: 600_000 } });
    await expect(execution.result).rejects.toMatchObject({ name: 'Box.IntegrityError' });
    release();
    await execution.idle;
    await sleep(50);
    // AWS starts neither the items queued behind the failed one nor the hash branch's retry.
    expect(batches).toEqual([0, 1]);
    expect(hashes).toBe(1);
  });

  it('keeps the session after any other failure: no AbortSession, a resumable failure document with the input that resumes it', async () => {
    const s = stubs(4, {
      UploadBatch: async (event: { batch: number }) => {
        if (event.batch === 2) throw new NamedError('Box.Conflict', 'part 2 conflicts');
        return { batch: event.batch, parts: 1, bytes: 1000, alreadyUploaded: 0 };
      },
    });
    const { execution } = run(s.handlers);
    const error = (await execution.result.catch((e: unknown) => e)) as TransferExecutionError;
    expect(error).toMatchObject({ name: 'Box.Conflict', message: 'part 2 conflicts' });
    expect(error.failure).toEqual({
      error: { name: 'Box.Conflict', message: 'part 2 conflicts' },
      resumable: true,
      resumeInput: { ...input, resume: { sessionId: 'SESSION', etag: '"etag"', fileName: 'big.bin' } },
    });
    expect(s.of('AbortSession')).toHaveLength(0);
    expect(s.of('Commit')).toHaveLength(0);
  });

  it('retries a transient batch error and carries on', async () => {
    let first = true;
    const s = stubs(2, {
      UploadBatch: async (event: { batch: number }) => {
        if (event.batch === 0 && first) {
          first = false;
          throw new NamedError('Box.RateLimited', 'slow down');
        }
        return { batch: event.batch, parts: 1, bytes: 1000, alreadyUploaded: 0 };
      },
    });
    const { execution, events } = run(s.handlers);
    await expect(execution.result).resolves.toEqual(output);
    expect(s.of('UploadBatch').filter((c) => c.event.batch === 0)).toHaveLength(2);
    expect(events).toContainEqual({ type: 'state-retried', state: 'UploadBatch', stateType: 'Task', attempt: 1, index: 0 });
    const history = await execution.history;
    expect(history.awsEventTypes['LambdaFunctionFailed']).toBe(1);
    expect(history.awsEventTypes['LambdaFunctionScheduled']).toBe(1 + 3 + 2 + 2);
  });

  it('gives up after the retries of a transient error, keeps the session, and keeps that error', async () => {
    const s = stubs(2, {
      HashObject: async () => {
        throw new NamedError('Transfer.S3Throttled', 'SlowDown');
      },
    });
    const { execution } = run(s.handlers);
    await expect(execution.result).rejects.toMatchObject({ name: 'Transfer.S3Throttled', message: 'SlowDown', failure: { resumable: true } });
    expect(s.of('HashObject')).toHaveLength(1 + 5);
    expect(s.of('AbortSession')).toHaveLength(0);
    expect(s.of('DescribeFailure')[0]!.event.state.error).toEqual({ Error: 'Transfer.S3Throttled', Cause: 'SlowDown' });
  });

  it('M10c a HashObject slice cut by S3 after it hashed something (done: false) is no failure: HashDone -> HashObject reads on, each new slice with its own retries', async () => {
    // Seven slices; each first meets S3's failure before hashing anything (thrown: the Retry), then hashes on
    // and is cut by S3 again (its blocks saved: done: false), until the last one ends. Seven throttles in a
    // row of the loop, more than the Retry's 5 attempts, and the transfer still succeeds.
    let tries = 0;
    const s = stubs(2, {
      HashObject: async (event: { hash?: HashProgress }): Promise<HashProgress> => {
        tries += 1;
        if (tries % 2 === 1) throw new NamedError('Transfer.S3Throttled', 'SlowDown');
        const invocations = (event.hash?.invocations ?? 0) + 1;
        const offset = (event.hash?.offset ?? 0) + 64;
        return tries < 14 ? { offset, done: false, state: 'c2F2ZWQ=', via: 'computed', invocations } : { offset: 2000, done: true, sha1: 'q83vEjRWeJCrze8SNFZ4kKvN7xI=', via: 'computed', invocations };
      },
    });
    const { execution, events } = run(s.handlers);
    await expect(execution.result).resolves.toEqual(output);
    const hashes = s.of('HashObject');
    expect(hashes).toHaveLength(14);
    // Each try of a slice gets the previous slice's saved state, never its own failed try's.
    expect(hashes.map((c) => c.event.hash?.offset ?? 0)).toEqual([0, 0, 64, 64, 128, 128, 192, 192, 256, 256, 320, 320, 384, 384]);
    expect(events.filter((e) => e.type === 'state-retried' && e.state === 'HashObject').map((e) => e.type === 'state-retried' && e.attempt)).toEqual([1, 1, 1, 1, 1, 1, 1]);
    expect(s.of('DescribeFailure')).toHaveLength(0);
  });

  it('keeps the original error when AbortSession itself fails', async () => {
    const s = stubs(1, {
      Commit: async () => {
        throw new NamedError('Box.DigestMismatch', 'File digest was incorrect');
      },
      AbortSession: async () => {
        throw new NamedError('Box.Unauthorized', 'token expired');
      },
    });
    const { execution } = run(s.handlers);
    await expect(execution.result).rejects.toMatchObject({
      name: 'Box.DigestMismatch',
      message: 'File digest was incorrect',
      failure: { error: { name: 'Box.DigestMismatch', message: 'File digest was incorrect' }, resumable: false },
    });
    expect(s.of('AbortSession')).toHaveLength(1);
  });

  it('keeps the original error and its Cause when DescribeFailure itself fails', async () => {
    const s = stubs(1, {
      Commit: async () => {
        throw new NamedError('Transfer.PartsIncomplete', 'Box holds 0 of 1 parts');
      },
      DescribeFailure: async () => {
        throw new NamedError('Lambda.Unknown', 'the function crashed');
      },
    });
    const { execution } = run(s.handlers);
    const error = (await execution.result.catch((e: unknown) => e)) as TransferExecutionError;
    expect(error).toMatchObject({ name: 'Transfer.PartsIncomplete', cause: 'Box holds 0 of 1 parts', message: 'Box holds 0 of 1 parts' });
    expect(error.failure).toBeUndefined();
    expect((await execution.history).events.at(-1)).toMatchObject({ type: 'ExecutionFailed', Error: 'Transfer.PartsIncomplete' });
  });

  it('fails without AbortSession when Prepare fails', async () => {
    const s = stubs(1, {
      Prepare: async () => {
        throw new NamedError('Transfer.InvalidInput', 'destination.folderId is required');
      },
    });
    const { execution } = run(s.handlers);
    await expect(execution.result).rejects.toMatchObject({
      name: 'Transfer.InvalidInput',
      failure: { error: { name: 'Transfer.InvalidInput', message: 'destination.folderId is required' }, resumable: false },
    });
    expect(s.calls.map((c) => c.state)).toEqual(['Prepare', 'DescribeFailure']);
    // ExecutionStarted; Prepare: TaskStateEntered, LambdaFunctionScheduled, LambdaFunctionStarted, LambdaFunctionFailed,
    // TaskStateExited (the Catch); DescribeFailure: TaskStateEntered, Scheduled, Started, Succeeded, TaskStateExited;
    // FailStateEntered, ExecutionFailed.
    const history = await execution.history;
    expect(history.awsEventTypes).toEqual({
      ExecutionStarted: 1,
      TaskStateEntered: 2,
      LambdaFunctionScheduled: 2,
      LambdaFunctionStarted: 2,
      LambdaFunctionFailed: 1,
      LambdaFunctionSucceeded: 1,
      TaskStateExited: 2,
      FailStateEntered: 1,
      ExecutionFailed: 1,
    });
  });

  it('keeps the session when Commit answers an unknown status (Transfer.CommitGaveUp)', async () => {
    const s = stubs(1, { Commit: async () => ({ status: 'weird', retryAfterSeconds: 0, attempts: 1, waitedSeconds: 0 }) });
    const { execution } = run(s.handlers);
    await expect(execution.result).rejects.toMatchObject({ name: 'Transfer.CommitGaveUp', failure: { resumable: true } });
    expect(s.of('AbortSession')).toHaveLength(0);
  });

  it('gives each invocation a Lambda-like context and enforces a configured Lambda timeout as Sandbox.Timedout', async () => {
    let hashCalls = 0;
    const remainingAtCall: number[] = [];
    const s = stubs(1, {
      HashObject: async (_event, context) => {
        hashCalls += 1;
        remainingAtCall.push(context.getRemainingTimeInMillis());
        if (hashCalls === 1) await sleep(1000); // past its 300 ms Lambda timeout: retried (Sandbox.Timedout)
        return { offset: 1000, done: true, sha1: 'q83vEjRWeJCrze8SNFZ4kKvN7xI=', via: 'computed', invocations: 1 };
      },
    });
    const { execution, events } = run(s.handlers, { lambdaTimeoutMs: { HashObject: 300 } });
    await expect(execution.result).resolves.toEqual(output);
    const hashes = s.of('HashObject');
    expect(hashes).toHaveLength(2);
    expect(events).toContainEqual(expect.objectContaining({ type: 'state-failed', state: 'HashObject', error: 'Sandbox.Timedout' }));
    expect(remainingAtCall).toHaveLength(2);
    for (const remaining of remainingAtCall) {
      expect(remaining).toBeGreaterThan(0);
      expect(remaining).toBeLessThanOrEqual(300);
    }
    expect(hashes[0]!.context.awsRequestId).not.toBe(hashes[1]!.context.awsRequestId);
    expect(hashes[0]!.context.functionName).toContain('hashObject');
    expect(hashes[0]!.context.invokedFunctionArn).toMatch(/^arn:aws:lambda:/);
    // Without a configured limit, the deadline is the state's TimeoutSeconds (960 s for HashObject).
    const prepare = s.of('Prepare')[0]!.context.getRemainingTimeInMillis();
    expect(prepare).toBeGreaterThan(60_000);
    expect(prepare).toBeLessThanOrEqual(120_000);
  });

  it('hands each Lambda its own copy of the event, as JSON over the wire would', async () => {
    const s = stubs(1, {
      UploadBatch: async (event: { batch: number; transfer: TransferContext }) => {
        event.transfer.session!.id = 'MUTATED';
        return { batch: event.batch, parts: 1, bytes: 1000, alreadyUploaded: 0, dropped: undefined };
      },
    });
    const { execution } = run(s.handlers);
    await execution.result;
    expect(s.of('Commit')[0]!.event.transfer.session.id).toBe('SESSION');
  });

  it('stops on the abort signal, even in a long Wait', async () => {
    const controller = new AbortController();
    const s = stubs(1, {
      Commit: async () => {
        setTimeout(() => controller.abort(), 20);
        return { status: 'processing', retryAfterSeconds: 3600, attempts: 1, waitedSeconds: 0 };
      },
    });
    const events: TransferEvent[] = [];
    const execution = startExecution(input, { handlers: s.handlers, signal: controller.signal, onEvent: (e) => events.push(e) });
    await expect(execution.result).rejects.toBeInstanceOf(TransferAbortedError);
    expect(events).toContainEqual(expect.objectContaining({ type: 'commit-wait', seconds: 3600, waitMs: 3_600_000 }));
    expect((await execution.history).events.at(-1)).toMatchObject({ type: 'ExecutionAborted' });
    // Like StopExecution in AWS: stopping does not run AbortSession (the Box session is left to expire).
    expect(s.of('AbortSession')).toHaveLength(0);
  });

  it('refuses to start when a Task state has no handler', () => {
    const s = stubs(1);
    const { Commit: _dropped, ...partial } = s.handlers;
    expect(() => startExecution(input, { handlers: partial })).toThrow(/Commit/);
  });
});
