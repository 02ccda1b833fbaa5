// The one commit policy (src/box/commitLoop.ts) that uploadBigFile and the Commit Lambda share, tested
// once here against scripted answers; the two callers are tested over the emulator (uploadBigFile in
// emulator.bigUpload.test.ts, the Lambda through the state machine in test/e2e/matrix.test.ts M05-M07).
import { describe, expect, it } from 'vitest';
import {
  BoxConflictError,
  BoxDigestMismatchError,
  BoxNetworkError,
  BoxNotFoundError,
  BoxPartsMismatchError,
  BoxRateLimitedError,
  BoxServerError,
  commitStep,
  commitUntilDone,
  DEFAULT_COMMIT_POLICY,
  findLandedFile,
  FIRST_COMMIT,
  type BoxFile,
  type CommitPolicy,
  type CommitState,
  type CommitTry,
  type LandedLookups,
} from '../../src/box/index.ts';
import type { CommitResult } from '../../src/box/types.ts';
import { fakeCommitTimer } from './fakeTimer.ts';

const FILE: BoxFile = { type: 'file', id: '42', name: 'f.bin', size: 10, sha1: 'ab' } as BoxFile;
const committed: CommitResult = { status: 'committed', files: { total_count: 1, entries: [FILE] } };
const processing = (retryAfterSeconds: number): CommitResult => ({ status: 'processing', retryAfterSeconds });
const mismatch = (): BoxPartsMismatchError => new BoxPartsMismatchError('400 parts_mismatch', { status: 400, code: 'parts_mismatch' });

/** A CommitTry whose answers are scripted (a result, or an error to throw), recording what was called. */
function scripted(answers: Array<CommitResult | Error>, landed: Array<BoxFile | undefined> = []) {
  const calls: string[] = [];
  const t: CommitTry = {
    sessionId: 'S',
    send: async () => {
      calls.push('send');
      const next = answers.shift();
      if (next === undefined) throw new Error('no more answers scripted');
      if (next instanceof Error) throw next;
      return next;
    },
    landed: async () => {
      calls.push('landed');
      return landed.shift();
    },
  };
  return { t, calls };
}

async function rejectionOf(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a rejection');
}

describe('commitStep: one try under the shared policy', () => {
  it('202: waits Retry-After, at least minIntervalMs; a 201 ends it', async () => {
    const { t } = scripted([processing(0), processing(7), committed]);
    const a = await commitStep(t, FIRST_COMMIT);
    expect(a).toMatchObject({ status: 'wait', waitMs: 1000, state: { attempts: 1, waitedMs: 1000 } });
    const b = await commitStep(t, a.state);
    expect(b).toMatchObject({ status: 'wait', waitMs: 7000, lastAnswer: '202 (Retry-After 7 s)', state: { attempts: 2, waitedMs: 8000 } });
    const c = await commitStep(t, b.state);
    expect(c).toMatchObject({ status: 'committed', file: FILE, landedEarlier: false, state: { attempts: 3 } });
  });

  it('parts_mismatch: 2 s doubling to 10 s, 8 in a row at most, then Box.PartsMismatch; a 202 resets the count', async () => {
    const { t } = scripted([...Array.from({ length: 8 }, mismatch), mismatch()]);
    let state: CommitState = { ...FIRST_COMMIT };
    const waits: number[] = [];
    for (let i = 0; i < 8; i++) {
      const step = await commitStep(t, state);
      if (step.status !== 'wait') throw new Error(`expected a wait, got ${step.status}`);
      waits.push(step.waitMs);
      state = step.state;
    }
    expect(waits).toEqual([2000, 4000, 8000, 10_000, 10_000, 10_000, 10_000, 10_000]);
    expect(state.partsMismatches).toBe(8);
    expect(await rejectionOf(commitStep(t, state))).toBeInstanceOf(BoxPartsMismatchError);

    const again = scripted([mismatch(), processing(1), mismatch()]);
    const one = await commitStep(again.t, FIRST_COMMIT);
    const two = await commitStep(again.t, one.state);
    const three = await commitStep(again.t, two.state);
    expect(three).toMatchObject({ status: 'wait', waitMs: 2000, state: { partsMismatches: 1 } });
  });

  it('bounds the total wait (the last wait cut at the limit) and the attempts: Box.CommitTimeout', async () => {
    const policy: CommitPolicy = { ...DEFAULT_COMMIT_POLICY, maxWaitMs: 10_000 };
    const { t } = scripted([processing(4), processing(4), processing(4), processing(4)]);
    const waits: number[] = [];
    let state: CommitState = { ...FIRST_COMMIT };
    const error = await rejectionOf(
      (async () => {
        for (;;) {
          const step = await commitStep(t, state, policy);
          if (step.status !== 'wait') throw new Error('unexpected');
          waits.push(step.waitMs);
          state = step.state;
        }
      })(),
    );
    expect(waits).toEqual([4000, 4000, 2000]);
    expect(error).toMatchObject({ name: 'Box.CommitTimeout' });
    expect(error.message).toContain('after 4 attempts and 10 s of waiting');

    const capped = scripted([processing(1), processing(1)]);
    const first = await commitStep(capped.t, FIRST_COMMIT, { ...DEFAULT_COMMIT_POLICY, maxAttempts: 2 });
    expect(await rejectionOf(commitStep(capped.t, first.state, { ...DEFAULT_COMMIT_POLICY, maxAttempts: 2 }))).toMatchObject({ name: 'Box.CommitTimeout' });
  });

  it('whole-second waits for the state machine: granularity rounds up, and cuts down at the limit', async () => {
    const policy: CommitPolicy = { ...DEFAULT_COMMIT_POLICY, granularityMs: 1000, partsMismatchFirstDelayMs: 1500, maxWaitMs: 2500 };
    const { t } = scripted([mismatch(), processing(5)]);
    const a = await commitStep(t, FIRST_COMMIT, policy);
    expect(a).toMatchObject({ status: 'wait', waitMs: 2000 });
    // 500 ms are left: less than a whole second and less than the floor, so the bound wins.
    expect(await rejectionOf(commitStep(t, a.state, policy))).toMatchObject({ name: 'Box.CommitTimeout' });
  });

  it('a lost answer (no answer, 5xx) is reported, not retried blindly; the next try looks in Box first and takes a landed file', async () => {
    for (const lost of [new BoxNetworkError('ECONNRESET', { status: 0 }), new BoxServerError('500', { status: 500 })]) {
      const { t, calls } = scripted([lost], [FILE]);
      const step = await commitStep(t, FIRST_COMMIT);
      expect(step).toMatchObject({ status: 'lost', error: lost, state: { attempts: 1, answerLost: true, lostAnswers: 1 } });
      expect(calls).toEqual(['send']); // nothing to look for before the first try
      const next = await commitStep(t, step.state);
      expect(next).toMatchObject({ status: 'committed', file: FILE, landedEarlier: true, state: { answerLost: false } });
      expect(calls).toEqual(['send', 'landed']); // found: not sent again
    }
  });

  it('after a lost answer, a repeated commit refused as if the session were gone (404, 410, 409 name in use, 400) is looked up again', async () => {
    const refusals = [
      new BoxNotFoundError('404', { status: 404, code: 'not_found' }),
      new BoxConflictError('409', { status: 409, code: 'item_name_in_use' }),
      mismatch(),
    ];
    for (const refusal of refusals) {
      const { t, calls } = scripted([refusal], [undefined, FILE]);
      const step = await commitStep(t, { ...FIRST_COMMIT, attempts: 1, answerLost: true });
      expect(step).toMatchObject({ status: 'committed', file: FILE, landedEarlier: true });
      expect(calls).toEqual(['landed', 'send', 'landed']);
    }
    // Not found either time: the refusal is passed on as it is (a parts_mismatch goes to its policy).
    const gone = scripted([new BoxNotFoundError('404', { status: 404, code: 'not_found' })], [undefined, undefined]);
    expect(await rejectionOf(commitStep(gone.t, { ...FIRST_COMMIT, attempts: 1, answerLost: true }))).toBeInstanceOf(BoxNotFoundError);
    const settling = scripted([mismatch()], [undefined, undefined]);
    expect(await commitStep(settling.t, { ...FIRST_COMMIT, attempts: 1, answerLost: true })).toMatchObject({ status: 'wait', waitMs: 2000 });
  });

  it('without a lost answer nothing is looked up: a 404 or a name conflict is passed on, and other refusals never are looked up', async () => {
    const notFound = scripted([new BoxNotFoundError('404', { status: 404 })], [FILE]);
    expect(await rejectionOf(commitStep(notFound.t, FIRST_COMMIT))).toBeInstanceOf(BoxNotFoundError);
    expect(notFound.calls).toEqual(['send']);
    const digest = scripted([new BoxDigestMismatchError('400 digest_mismatch', { status: 400, code: 'digest_mismatch' })], [undefined, FILE]);
    expect(await rejectionOf(commitStep(digest.t, { ...FIRST_COMMIT, attempts: 1, answerLost: true }))).toBeInstanceOf(BoxDigestMismatchError);
    expect(digest.calls).toEqual(['landed', 'send']);
  });

  it('a failing probe is reported and taken as "not found": the commit is sent (before, and after a refusal the refusal is passed on)', async () => {
    const failures: unknown[] = [];
    const probeError = new BoxServerError('503 on the folder listing', { status: 503 });
    const failingProbe = (answers: Array<CommitResult | Error>) => {
      const { t, calls } = scripted(answers);
      return {
        calls,
        t: { ...t, landed: async () => (calls.push('landed'), Promise.reject(probeError)), onLandedError: (e: unknown) => failures.push(e) } satisfies CommitTry,
      };
    };
    const ok = failingProbe([committed]);
    expect(await commitStep(ok.t, { ...FIRST_COMMIT, attempts: 1, answerLost: true })).toMatchObject({ status: 'committed', file: FILE, landedEarlier: false });
    expect(ok.calls).toEqual(['landed', 'send']);
    const refused = failingProbe([new BoxNotFoundError('404', { status: 404, code: 'not_found' })]);
    expect(await rejectionOf(commitStep(refused.t, { ...FIRST_COMMIT, attempts: 1, answerLost: true }))).toBeInstanceOf(BoxNotFoundError);
    expect(refused.calls).toEqual(['landed', 'send', 'landed']);
    expect(failures).toEqual([probeError, probeError, probeError]);
  });

  it('a refusal the caller waits on (waitAfter: a 429) is a wait within the bounds, keeping what an earlier lost answer left open', async () => {
    const throttled = new BoxRateLimitedError('429', { status: 429, retryAfterSeconds: 3 });
    const { t, calls } = scripted([throttled], [undefined]);
    const waiting = { ...t, waitAfter: (e: unknown) => (e instanceof BoxRateLimitedError ? (e.retryAfterSeconds ?? 5) * 1000 : undefined) };
    const step = await commitStep(waiting, { ...FIRST_COMMIT, attempts: 1, answerLost: true });
    expect(step).toMatchObject({ status: 'wait', waitMs: 3000, refused: true, state: { attempts: 2, waitedMs: 3000, answerLost: true } });
    expect(calls).toEqual(['landed', 'send']);
    // Without waitAfter (uploadBigFile) it is passed on; past maxWaitMs it is Box.CommitTimeout.
    expect(await rejectionOf(commitStep(scripted([throttled]).t, FIRST_COMMIT))).toBe(throttled);
    const late = { ...scripted([throttled]).t, waitAfter: () => 3000 };
    expect(await rejectionOf(commitStep(late, { ...FIRST_COMMIT, waitedMs: 900_000 }))).toMatchObject({ name: 'Box.CommitTimeout' });
  });

  it('a 201 without a file is a lost answer (Box.UnreadableAnswer): it may have committed, so the next try looks first', async () => {
    const { t } = scripted([{ status: 'committed', files: { total_count: 0, entries: [] } }]);
    const step = await commitStep(t, FIRST_COMMIT);
    expect(step).toMatchObject({ status: 'lost', error: { name: 'Box.UnreadableAnswer' }, state: { attempts: 1, answerLost: true, lostAnswers: 1 } });
  });
});

describe('findLandedFile: the lost-commit probe', () => {
  const ours = { type: 'file', id: '7', name: 'v.bin', size: 10, sha1: 'AB12', file_version: { type: 'file_version', id: 'v1' } } as BoxFile;
  const lookups = {
    files: {
      getFile: async () => ours,
      // A 409 without the item that holds the name: the look falls back to listing.
      preflightCheck: async () => {
        throw new BoxConflictError('409 item_name_in_use', { status: 409, code: 'item_name_in_use' });
      },
    },
    folders: { listItems: async () => ({ entries: [ours], next_marker: null, limit: 1000 }) },
  } as unknown as LandedLookups;

  it('a new version whose version before the upload is unknown is not reported landed before a resend, only after a refused repeated commit', async () => {
    expect(await findLandedFile(lookups, { folderId: '0', fileName: 'v.bin', fileId: '7' }, 'ab12', 10)).toBeUndefined();
    // After the refusal, the current version holding our bytes is the result, whoever made it.
    expect(await findLandedFile(lookups, { folderId: '0', fileName: 'v.bin', fileId: '7' }, 'ab12', 10, { afterRefusal: true })).toBe(ours);
    expect(await findLandedFile(lookups, { folderId: '0', fileName: 'v.bin', fileId: '7' }, 'ab13', 10, { afterRefusal: true })).toBeUndefined();
    // A known version before the upload that is still current is not ours, even after a refusal.
    expect(await findLandedFile(lookups, { folderId: '0', fileName: 'v.bin', fileId: '7', versionSeen: 'v1' }, 'ab12', 10, { afterRefusal: true })).toBeUndefined();
    expect(await findLandedFile(lookups, { folderId: '0', fileName: 'v.bin', fileId: '7', versionSeen: 'v1' }, 'ab12', 10)).toBeUndefined();
    expect(await findLandedFile(lookups, { folderId: '0', fileName: 'v.bin', fileId: '7', versionSeen: 'v0' }, 'ab12', 10)).toBe(ours);
    // A new file found by name, with our bytes: landed.
    expect(await findLandedFile(lookups, { folderId: '0', fileName: 'V.bin' }, 'ab12', 10)).toBe(ours);
    expect(await findLandedFile(lookups, { folderId: '0', fileName: 'v.bin' }, 'ab12', 11)).toBeUndefined();
  });
});

describe('commitUntilDone: the loop that waits in process (uploadBigFile)', () => {
  it('waits between tries, looks in Box after a lost answer, and gives up after maxLostAnswers in a row', async () => {
    const timer = fakeCommitTimer();
    const { t, calls } = scripted([processing(3), new BoxNetworkError('reset', { status: 0 }), new BoxServerError('502', { status: 502 })], [undefined, FILE]);
    await expect(commitUntilDone(t, DEFAULT_COMMIT_POLICY, timer)).resolves.toBe(FILE);
    expect(calls).toEqual(['send', 'send', 'landed', 'send', 'landed']);
    expect(timer.waits).toEqual([3000, 1000, 2000]);

    const never = scripted(Array.from({ length: 5 }, () => new BoxNetworkError('reset', { status: 0 })), []);
    const error = await rejectionOf(commitUntilDone(never.t, { ...DEFAULT_COMMIT_POLICY, maxLostAnswers: 4 }, fakeCommitTimer()));
    expect(error).toBeInstanceOf(BoxNetworkError);
    expect(never.calls.filter((c) => c === 'send')).toHaveLength(5);
  });
});
