// The failure policy and the failure document: which errors are terminal, what a failed execution's Cause
// holds, and the input that resumes a kept session.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { TransferContext, TransferInput } from '../../src/transfer/contract.ts';
import {
  MAX_FAILURE_MESSAGE_LENGTH,
  TERMINAL_ERRORS,
  describeFailure,
  errorMessageOf,
  failureDocument,
  isTerminalError,
  parseFailureCause,
} from '../../src/transfer/failure.ts';

const input: TransferInput = {
  source: { bucket: 'exports', key: 'dir/big.bin' },
  destination: { folderId: '123' },
  onConflict: 'rename',
  options: { concurrency: 16 },
};

function transfer(extra: Partial<TransferContext> = {}): TransferContext {
  return {
    source: { bucket: 'exports', key: 'dir/big.bin', versionId: 'v-7', etag: '"abc"', size: 50_000_000, lastModified: '2026-01-01T00:00:00.000Z' },
    destination: { folderId: '123', fileName: 'big (1).bin' },
    onConflict: 'rename',
    mode: 'chunked',
    session: {
      id: 'F971964745A5CD0C001BBE4E58196BFD',
      partSize: 8_388_608,
      totalParts: 6,
      endpoints: { uploadPart: 'u', commit: 'c', abort: 'a', listParts: 'l', status: 's' },
    },
    partsPerBatch: 2,
    partsInFlight: 2,
    mapConcurrency: 2,
    ...extra,
  };
}

describe('the failure policy', () => {
  it('names as terminal exactly the failures after which the upload can never be committed as asked', () => {
    for (const name of ['Transfer.SourceChanged', 'Box.DigestMismatch', 'Box.SessionExpired', 'Transfer.NameConflict', 'Box.IntegrityError', 'Transfer.InvalidInput', 'Box.Forbidden', 'Box.NotFound']) {
      expect(isTerminalError(name), name).toBe(true);
    }
    const kept = ['Box.RateLimited', 'Box.ServerError', 'Box.NetworkError', 'States.Timeout', 'Sandbox.Timedout', 'Lambda.Unknown', 'Box.Unauthorized', 'Box.AuthFailed', 'Transfer.ConfigurationError', 'Transfer.PartsIncomplete', 'Transfer.CommitGaveUp', 'States.Runtime', 'Box.Conflict', 'Box.RangeNotSatisfiable', 'Box.PartDigestRejected', 'Box.UnreadableAnswer', 'Transfer.S3Throttled', 'Transfer.SourceAccessDenied', 'Something.Else'];
    for (const name of kept) expect(isTerminalError(name), name).toBe(false);
    expect(new Set(TERMINAL_ERRORS).size).toBe(TERMINAL_ERRORS.length);
  });
});

describe('failureDocument', () => {
  it('keeps a session after a transient failure: resumable, the caller input plus what resumes it', () => {
    const document = failureDocument({ input, state: { transfer: transfer(), error: { Error: 'Box.ServerError', Cause: 'Box answered 503 to PUT /files/upload_sessions/F97' } } });
    expect(document).toEqual({
      error: { name: 'Box.ServerError', message: 'Box answered 503 to PUT /files/upload_sessions/F97' },
      resumable: true,
      resumeInput: {
        ...input,
        resume: { sessionId: 'F971964745A5CD0C001BBE4E58196BFD', versionId: 'v-7', etag: '"abc"', fileName: 'big (1).bin' },
      },
    });
  });

  it('carries the file id of a new version', () => {
    const document = failureDocument({
      input,
      state: { transfer: transfer({ destination: { folderId: '123', fileName: 'big.bin', fileId: '555' } }), error: { Error: 'States.Timeout', Cause: '' } },
    });
    expect(document.resumeInput?.resume).toMatchObject({ fileName: 'big.bin', fileId: '555' });
  });

  it('is not resumable after a terminal failure, without a session (Prepare, direct upload), or for an input that is not an object', () => {
    expect(failureDocument({ input, state: { transfer: transfer(), error: { Error: 'Transfer.SourceChanged', Cause: 'changed' } } })).toEqual({
      error: { name: 'Transfer.SourceChanged', message: 'changed' },
      resumable: false,
    });
    expect(failureDocument({ input, state: { ...input, error: { Error: 'Box.ServerError', Cause: 'down' } } })).toMatchObject({ resumable: false });
    const direct = transfer({ mode: 'direct' });
    delete direct.session;
    expect(failureDocument({ input, state: { transfer: direct, error: { Error: 'Box.ServerError', Cause: 'down' } } })).toMatchObject({ resumable: false });
    expect(failureDocument({ input: 'not an object', state: { error: { Error: 'Transfer.InvalidInput', Cause: 'bad' } } })).toMatchObject({ resumable: false });
  });

  it('a resumed run that fails before its Prepare finished stays resumable with the same input, unless the error is terminal', () => {
    const resumed = { ...input, resume: { sessionId: 'ABC', etag: '"abc"' } };
    expect(failureDocument({ input: resumed, state: { ...resumed, error: { Error: 'Box.ServerError', Cause: 'down' } } })).toEqual({
      error: { name: 'Box.ServerError', message: 'down' },
      resumable: true,
      resumeInput: resumed,
    });
    expect(failureDocument({ input: resumed, state: { ...resumed, error: { Error: 'Box.SessionExpired', Cause: 'gone' } } })).toMatchObject({ resumable: false });
  });

  it('a resume refused as expiring too soon keeps the session, and its resumeInput tries anyway (resume.ignoreExpiry)', () => {
    const resumed = { ...input, resume: { sessionId: 'ABC', etag: '"abc"' } };
    const document = failureDocument({ input: resumed, state: { ...resumed, error: { Error: 'Transfer.SessionExpiring', Cause: 'expires at ...' } } });
    expect(document).toEqual({
      error: { name: 'Transfer.SessionExpiring', message: 'expires at ...' },
      resumable: true,
      resumeInput: { ...resumed, resume: { sessionId: 'ABC', etag: '"abc"', ignoreExpiry: true } },
    });
    expect(isTerminalError('Transfer.SessionExpiring')).toBe(false);
    // Another failure of a resumed run keeps the input's resume as it was given.
    expect(failureDocument({ input: resumed, state: { ...resumed, error: { Error: 'Box.ServerError', Cause: 'down' } } }).resumeInput?.resume).toEqual(resumed.resume);
  });

  it('takes the message out of an AWS Lambda error Cause, and keeps other Causes as they are', () => {
    const lambdaCause = JSON.stringify({ errorType: 'Box.RateLimited', errorMessage: 'Box answered 429', trace: ['Box.RateLimited: Box answered 429', '    at send (file:///var/task/index.mjs:1:2)'] });
    expect(errorMessageOf(lambdaCause)).toBe('Box answered 429');
    expect(errorMessageOf('Task timed out after 900.00 seconds')).toBe('Task timed out after 900.00 seconds');
    expect(errorMessageOf('{not json')).toBe('{not json');
    expect(errorMessageOf(undefined)).toBe('');
    const document = failureDocument({ input, state: { transfer: transfer(), error: { Error: 'Box.RateLimited', Cause: lambdaCause } } });
    expect(document.error).toEqual({ name: 'Box.RateLimited', message: 'Box answered 429' });
  });

  it('bounds the message (a Fail Cause holds at most 32,768 characters) and names a missing error States.Runtime', () => {
    const document = failureDocument({ input, state: { transfer: transfer(), error: { Cause: 'x'.repeat(50_000) } } });
    expect(document.error.name).toBe('States.Runtime');
    expect(document.error.message).toHaveLength(MAX_FAILURE_MESSAGE_LENGTH);
    expect(describeFailure({ input, state: { transfer: transfer(), error: { Cause: 'x'.repeat(50_000) } } }).cause.length).toBeLessThan(32_768);
  });
});

describe('describeFailure and parseFailureCause', () => {
  it('round-trip: the Cause is the document as JSON, the error its name', () => {
    const result = describeFailure({ input, state: { transfer: transfer(), error: { Error: 'Transfer.CommitGaveUp', Cause: 'still processing' } } });
    expect(result.error).toBe('Transfer.CommitGaveUp');
    expect(result.resumable).toBe(true);
    expect(parseFailureCause(result.cause)).toEqual(JSON.parse(result.cause));
    expect(parseFailureCause(result.cause)?.resumeInput?.resume.sessionId).toBe('F971964745A5CD0C001BBE4E58196BFD');
  });

  it('finds no document in a plain Cause, other JSON, or a resumable document without its input', () => {
    expect(parseFailureCause('Box answered 503')).toBeUndefined();
    expect(parseFailureCause('{"errorType":"X","errorMessage":"y"}')).toBeUndefined();
    expect(parseFailureCause('{"error":{"name":"X","message":"y"},"resumable":true}')).toBeUndefined();
    expect(parseFailureCause('{"error":{"name":"X","message":"y"},"resumable":false}')).toEqual({ error: { name: 'X', message: 'y' }, resumable: false });
    expect(parseFailureCause(undefined)).toBeUndefined();
  });
});

describe('the README', () => {
  it('names every terminal error in its list of failures that abort the session, and no other', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const start = readme.indexOf('**Which failures abort the session.**');
    const end = readme.indexOf('**Every other failure keeps the session**', start);
    expect(start).toBeGreaterThan(0);
    expect(end).toBeGreaterThan(start);
    const listed = new Set(readme.slice(start, end).match(/`(?:Box|Transfer)\.[A-Za-z]+`/g)?.map((n) => n.slice(1, -1)));
    expect([...listed].sort()).toEqual([...TERMINAL_ERRORS].sort());
  });
});
