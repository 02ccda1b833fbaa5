// The definition itself: valid ASL (asl-validator with path checks), JSONPath only, every Task bounded by
// TimeoutSeconds and retried on the transient errors (shared Retry blocks written once), terminal failures
// routed to AbortSession, every failure to DescribeFailure and a Fail that carries the original error.
import aslValidator from 'asl-validator';
import { StateMachine } from 'aws-local-stepfunctions';
import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { DEFINITION_PATH, TASK_STATE_NAMES, loadLocalDefinition, readDefinitionFile, walkStates } from '../../local/runner/definition.ts';
import { TERMINAL_ERRORS } from '../../src/transfer/failure.ts';

type Json = Record<string, unknown>;
const raw = readDefinitionFile();
const states = (machine: Json = raw): Map<string, Json> => new Map(walkStates(machine));
const top = raw['States'] as Record<string, Json>;
const LAMBDA_SERVICE_ERRORS = ['Lambda.ServiceException', 'Lambda.AWSLambdaException', 'Lambda.SdkClientException', 'Lambda.TooManyRequestsException'];

function retried(state: Json): string[] {
  return ((state['Retry'] as Json[] | undefined) ?? []).flatMap((r) => r['ErrorEquals'] as string[]);
}

describe('statemachine/transfer.asl.yml', () => {
  it('is valid under asl-validator with path and ARN checks (raw YAML, Fn::GetAtt left in place)', () => {
    // The validator writes QueryLanguage into the states it checks: give it a copy.
    const result = aslValidator(structuredClone(raw), { checkPaths: true, checkArn: true });
    expect(result.errorsText('\n')).toBe('');
    expect(result.isValid).toBe(true);
  });

  it('fails validation once broken (the check above can fail)', () => {
    const broken = structuredClone(raw) as Json;
    const brokenStates = broken['States'] as Record<string, Json>;
    brokenStates['Commit']!['ResultPath'] = 'commit';
    brokenStates['WaitForCommit']!['Next'] = 'Nowhere';
    const result = aslValidator(broken, { checkPaths: true, checkArn: true });
    expect(result.isValid).toBe(false);
    expect(result.errorsText('\n')).toMatch(/ResultPath|Nowhere/);
  });

  it('is accepted by aws-local-stepfunctions once Fn::GetAtt becomes an ARN', () => {
    const { definition, tasks } = loadLocalDefinition();
    expect(() => new StateMachine(definition)).not.toThrow();
    expect(JSON.stringify(definition)).not.toContain('Fn::GetAtt');
    expect([...tasks.keys()].sort()).toEqual([...TASK_STATE_NAMES].sort());
  });

  it('uses JSONPath only: no JSONata, no Assign, no Arguments/Output', () => {
    expect(raw['QueryLanguage'] ?? 'JSONPath').toBe('JSONPath');
    for (const [name, state] of states()) {
      expect(state['QueryLanguage'] ?? 'JSONPath', name).toBe('JSONPath');
      for (const field of ['Assign', 'Arguments', 'Output']) expect(state, `${name}.${field}`).not.toHaveProperty(field);
    }
    expect(JSON.stringify(raw)).not.toContain('{%');
  });

  it('binds each Task state to its Lambda with a long-form Fn::GetAtt and bounds it with TimeoutSeconds', () => {
    const expected: Record<string, string> = {
      Prepare: 'prepare',
      DirectUpload: 'directUpload',
      UploadBatch: 'uploadBatch',
      HashObject: 'hashObject',
      Commit: 'commit',
      AbortSession: 'abortSession',
      DescribeFailure: 'describeFailure',
    };
    const tasks = [...states()].filter(([, s]) => s['Type'] === 'Task');
    expect(tasks.map(([n]) => n).sort()).toEqual(Object.keys(expected).sort());
    for (const [name, state] of tasks) {
      expect(state['Resource'], name).toEqual({ 'Fn::GetAtt': [expected[name], 'Arn'] });
      expect(typeof state['TimeoutSeconds'], `${name} TimeoutSeconds`).toBe('number');
      expect(state['TimeoutSeconds'] as number, name).toBeGreaterThanOrEqual(60);
    }
    // The two long-running Lambdas get a little more than Lambda's 15 minutes.
    for (const name of ['UploadBatch', 'HashObject']) expect(states().get(name)!['TimeoutSeconds']).toBeGreaterThan(900);
  });

  it('retries Lambda service errors on every Task and the named transient errors where they can occur', () => {
    for (const [name, state] of states()) {
      if (state['Type'] !== 'Task') continue;
      expect(retried(state), name).toEqual(expect.arrayContaining(LAMBDA_SERVICE_ERRORS));
      for (const retrier of state['Retry'] as Json[]) {
        expect(retrier['MaxAttempts'], name).toBeGreaterThan(0);
        expect(retrier['IntervalSeconds'], name).toBeGreaterThan(0);
        // A blanket retry would retry permanent errors (conflicts, bad input) for nothing.
        expect(retrier['ErrorEquals'], name).not.toContain('States.ALL');
        expect(retrier['ErrorEquals'], name).not.toContain('States.TaskFailed');
      }
    }
    for (const name of ['Prepare', 'DirectUpload', 'UploadBatch', 'AbortSession']) {
      expect(retried(states().get(name)!), name).toEqual(expect.arrayContaining(['Box.RateLimited', 'Box.ServerError', 'Box.NetworkError']));
    }
    // A success whose body cannot be read may have taken effect: retried where the retry looks first.
    for (const name of ['Prepare', 'DirectUpload', 'UploadBatch', 'Commit']) expect(retried(states().get(name)!), name).toContain('Box.UnreadableAnswer');
    // A part Box kept refusing for its Digest was not stored: the batch runs again (never terminal).
    expect(retried(states().get('UploadBatch')!)).toContain('Box.PartDigestRejected');
    for (const name of ['Prepare', 'DirectUpload', 'UploadBatch', 'HashObject']) {
      expect(retried(states().get(name)!), name).toContain('Transfer.S3Throttled');
    }
    // Commit turns a throttled try (429, S3 SlowDown: nothing committed) into processing for WaitForCommit
    // (test/transfer/current.test.ts, test/functions/deadline.test.ts); only a lost answer is retried.
    expect(retried(states().get('Commit')!)).toEqual(expect.arrayContaining(['Box.ServerError', 'Box.NetworkError']));
    expect(retried(states().get('Commit')!)).not.toContain('Box.RateLimited');
    expect(retried(states().get('Commit')!)).not.toContain('Transfer.S3Throttled');
    // Every Task whose Box or S3 requests run inside the invocation's request budget may end with Transfer.Deadline.
    for (const name of ['Prepare', 'DirectUpload', 'UploadBatch', 'HashObject', 'Commit', 'AbortSession']) {
      expect(retried(states().get(name)!), name).toContain('Transfer.Deadline');
    }
    // States.Timeout only where running twice is harmless (Prepare reuses its session through
    // session_conflict, idempotent batches, a resumable read, a commit that looks whether the lost one
    // landed, a direct upload that takes a file already holding its bytes as itself, the abort, a pure function).
    for (const [name, state] of states()) {
      if (retried(state).includes('States.Timeout')) {
        expect(['Prepare', 'DirectUpload', 'UploadBatch', 'HashObject', 'Commit', 'AbortSession', 'DescribeFailure']).toContain(name);
      }
    }
    expect(retried(states().get('DirectUpload')!)).toEqual(expect.arrayContaining(['States.Timeout', 'Sandbox.Timedout']));
    // Commit knows a retry ($$.State.RetryCount), so it looks for a commit that landed before sending another.
    expect(states().get('Commit')!['Parameters']).toMatchObject({ 'retryCount.$': '$$.State.RetryCount', 'commit.$': '$.commit' });
    expect(retried(states().get('Commit')!)).toEqual(expect.arrayContaining(['States.Timeout', 'Sandbox.Timedout']));
  });

  it('writes each shared Retry block once (YAML anchors) and every Task uses the same Lambda-service retrier', () => {
    const text = readFileSync(DEFINITION_PATH, 'utf8');
    for (const anchor of ['lambdaServiceRetry', 'transientRetry', 'timeoutRetry', 'terminalCatch', 'keepSessionCatch']) {
      expect(text.match(new RegExp(`&${anchor}\\b`, 'g')), anchor).toHaveLength(1);
    }
    expect(text.match(/Lambda\.ServiceException/g)).toHaveLength(1);
    const tasks = [...states()].filter(([, s]) => s['Type'] === 'Task');
    const first = (tasks[0]![1]['Retry'] as Json[])[0];
    for (const [name, state] of tasks) expect((state['Retry'] as Json[])[0], name).toEqual(first);
  });

  it('aborts the session on terminal errors only, and fails every way with the original error and the failure document', () => {
    const terminal = { ErrorEquals: [...TERMINAL_ERRORS], ResultPath: '$.error', Next: 'AbortSession' };
    const keep = { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'DescribeFailure' };
    // Before a session of ours exists (Prepare) or without one (DirectUpload): nothing to abort.
    expect(top['Prepare']!['Catch']).toEqual([keep]);
    expect(top['DirectUpload']!['Catch']).toEqual([keep]);
    // After it exists: the terminal names (the same list as src/transfer/failure.ts) abort, the rest keep it.
    for (const name of ['UploadAndHash', 'Commit']) expect(top[name]!['Catch'], name).toEqual([terminal, keep]);
    // Tasks inside the Parallel have no Catch of their own: their errors fail the Parallel, which catches them.
    for (const name of ['UploadBatch', 'HashObject']) expect(states().get(name), name).not.toHaveProperty('Catch');
    expect(top['UnexpectedCommitStatus']).toMatchObject({ Result: { Error: 'Transfer.CommitGaveUp' }, ResultPath: '$.error', Next: 'DescribeFailure' });
    const abort = top['AbortSession']!;
    expect(abort['Parameters']).toMatchObject({ 'transfer.$': '$.transfer', 'error.$': '$.error' });
    expect(abort['ResultPath']).not.toBe('$.error');
    expect(abort['Catch']).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.abortError', Next: 'DescribeFailure' }]);
    expect(abort['Next']).toBe('DescribeFailure');
    const describe = top['DescribeFailure']!;
    expect(describe['Parameters']).toEqual({ 'executionId.$': '$$.Execution.Id', 'input.$': '$$.Execution.Input', 'state.$': '$' });
    expect(describe['ResultPath']).toBe('$.failure');
    expect(describe['Next']).toBe('TransferFailed');
    expect(describe['Catch']).toEqual([{ ErrorEquals: ['States.ALL'], ResultPath: '$.describeError', Next: 'TransferFailedUndescribed' }]);
    expect(top['TransferFailed']).toMatchObject({ Type: 'Fail', ErrorPath: '$.error.Error', CausePath: '$.failure.cause' });
    expect(top['TransferFailedUndescribed']).toMatchObject({ Type: 'Fail', ErrorPath: '$.error.Error', CausePath: '$.error.Cause' });
    // Every Catch anywhere ends in DescribeFailure, directly or through AbortSession.
    for (const [name, state] of states()) {
      for (const c of (state['Catch'] as Json[] | undefined) ?? []) {
        expect(['AbortSession', 'DescribeFailure', 'TransferFailedUndescribed'], name).toContain(c['Next']);
      }
    }
  });

  it('fans out over batches with MaxConcurrencyPath, keeps the Map result out of the state, and waits Retry-After', () => {
    const map = states().get('UploadParts')!;
    expect(map).toMatchObject({ Type: 'Map', ItemsPath: '$.batches', MaxConcurrencyPath: '$.transfer.mapConcurrency', ResultPath: null });
    expect(map['ItemSelector']).toMatchObject({ 'transfer.$': '$.transfer', 'batch.$': '$$.Map.Item.Value' });
    expect(top['UploadAndHash']!['ResultSelector']).toMatchObject({ 'sha1.$': '$[1].hash.sha1', 'transfer.$': '$[1].transfer' });
    expect(top['WaitForCommit']).toMatchObject({ Type: 'Wait', SecondsPath: '$.commit.retryAfterSeconds', Next: 'Commit' });
    expect(top['Committed']).toMatchObject({ Type: 'Succeed', OutputPath: '$.commit.output' });
  });
});
