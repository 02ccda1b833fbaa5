// Rows of RELIABILITY.md's fault matrix for what Box may answer where its API description is silent
// (the body of a commit's 202, a success whose body cannot be read, ...): each variant is an emulator option
// or fault, run through the whole local state machine (local runner + real handlers + s3rver + the Box
// emulator over loopback). Test names start with the row's id; each asserts the bytes in Box and the
// sessions left, and that nothing Box holds is thrown away.
import { describe, expect, it } from 'vitest';
import { COMMIT_202_BODIES, type Commit202Body } from '../../local/box-emulator/index.ts';
import { TransferExecutionError } from '../../local/runner/index.ts';
import { PART_DIGEST_TRIES } from '../../src/transfer/uploadBatch.ts';
import { inputFor, taskRuns } from './harness.ts';
import { matrixSetUp, sessionsByStatus, SIZE, transfersExactly } from './matrix-support.ts';

const setUp = matrixSetUp();

const COMMIT_202_ROWS: Record<Exclude<Commit202Body, 'empty'>, string> = {
  'json-no-body': 'M05b',
  'json-empty-object': 'M05c',
  'json-session': 'M05d',
  text: 'M05e',
};

describe('fault matrix (RELIABILITY.md): what Box may answer', () => {
  it('covers every 202 body the emulator can answer', () => {
    expect(Object.keys(COMMIT_202_ROWS).sort()).toEqual(COMMIT_202_BODIES.filter((b) => b !== 'empty').sort());
  });

  for (const [commit202Body, id] of Object.entries(COMMIT_202_ROWS) as Array<[Commit202Body, string]>) {
    it(`${id} commit answers 202 with ${commit202Body} twice, then 201: the 202's body is never read, each is waited on`, async () => {
      const e = await setUp({ commitProcessing: { mode: 'count', times: 2, retryAfterSeconds: 3 }, commit202Body });
      const { execution } = await transfersExactly(e, `processing-${commit202Body}.bin`);
      expect(execution.events.filter((ev) => ev.type === 'commit-wait')).toHaveLength(2);
      expect(taskRuns(execution.events)['Commit']).toBe(3);
      expect(execution.events.filter((ev) => ev.type === 'state-failed')).toEqual([]);
      expect(e.box.stats().requests.commit).toBe(3);
      expect(sessionsByStatus(e)).toEqual({ committed: 1 });
    });
  }

  it('M03d a part stored but answered 500, retried into 409 (Box\'s API description\'s "chunk conflicts with another chunk previously uploaded") instead of 416: checked in list parts, carried on', async () => {
    const e = await setUp({ overlapStatus: 409 });
    e.box.faults.inject({ operation: 'uploadPart', nth: 2, action: { type: 'storeThenFail', status: 500 } });
    const { execution } = await transfersExactly(e, 'stored-then-500-409.bin', {}, { options: { partsPerBatch: 7, concurrency: 1 } });
    expect(execution.events.filter((ev) => ev.type === 'state-failed')).toEqual([]);
    expect(taskRuns(execution.events)['UploadBatch']).toBe(1); // resolved inside the invocation
    expect(e.box.stats().requests.uploadPart).toBe(8); // the part twice, stored once
    expect(e.box.stats().requests.listParts).toBeGreaterThanOrEqual(1 + 1); // the 409 checked; the commit's listing
    expect(sessionsByStatus(e)).toEqual({ committed: 1 });
  });

  for (const [id, partDigestMismatchStatus] of [
    ['M17a', 412],
    ['M17b', 400],
  ] as const) {
    it(`${id} a part refused for its Digest (damaged on the way, ${partDigestMismatchStatus}) after 3 parts were stored: read again and resent in the same invocation, committed`, async () => {
      const e = await setUp({ partDigestMismatchStatus });
      e.box.faults.inject({ operation: 'uploadPart', nth: 4, action: { type: 'corruptBody' } });
      const { execution } = await transfersExactly(e, `damaged-${partDigestMismatchStatus}.bin`, {}, { options: { partsPerBatch: 7, concurrency: 1 } });
      expect(execution.events.filter((ev) => ev.type === 'state-failed')).toEqual([]);
      expect(taskRuns(execution.events)['UploadBatch']).toBe(1);
      expect(e.box.stats().requests.uploadPart).toBe(7 + 1);
      expect(sessionsByStatus(e)).toEqual({ committed: 1 });
    });
  }

  it('M17c a part refused for its Digest every time: Box.PartDigestRejected after the batch retries, never terminal; the session and its stored parts are kept, and the resume commits them', async () => {
    const e = await setUp();
    e.box.faults.inject({ operation: 'uploadPart', nth: 4, times: 1_000_000, action: { type: 'corruptBody' } });
    const folder = await e.box.createFolder('refused');
    const put = await e.put('refused.bin', SIZE);
    const first = e.start(inputFor('refused.bin', folder.id, { options: { partsPerBatch: 7, concurrency: 1 } }));
    const error = (await first.result.catch((err: unknown) => err)) as TransferExecutionError;
    expect(error).toBeInstanceOf(TransferExecutionError);
    expect(error.name).toBe('Box.PartDigestRejected');
    // Three tries of the part in each of the three UploadBatch runs (one, then the state machine's two retries).
    expect(taskRuns(first.events)['UploadBatch']).toBe(3);
    expect(e.box.stats().requests.uploadPart).toBe(3 + 3 * PART_DIGEST_TRIES);
    expect(taskRuns(first.events)['AbortSession']).toBeUndefined();
    const [session] = e.box.listSessions();
    expect(e.box.listSessions().map((s) => [s.status, s.partsUploaded])).toEqual([['open', 3]]);
    expect(error.failure).toMatchObject({ resumable: true, resumeInput: { resume: { sessionId: session!.id } } });

    await first.idle;
    e.box.faults.clear();
    e.box.resetStats();
    const output = await e.start(error.failure!.resumeInput!).result;
    expect(await e.download(output.file.id)).toEqual({ sha1: put.sha1, size: SIZE });
    expect(e.box.stats().requests.uploadPart).toBe(7 - 3);
    expect(e.box.listSessions().map((s) => [s.id, s.status])).toEqual([[session!.id, 'committed']]);
  });

  it('M07o a commit that lands but answers 201 with a body that is not JSON: Box.UnreadableAnswer, a lost answer; the retried Commit finds the file', async () => {
    const e = await setUp();
    e.box.faults.inject({ operation: 'commit', nth: 1, action: { type: 'storeThenGarble' } });
    const { execution, folder } = await transfersExactly(e, 'garbled-commit.bin');
    expect(execution.events).toContainEqual(expect.objectContaining({ type: 'state-failed', state: 'Commit', error: 'Box.UnreadableAnswer' }));
    expect(taskRuns(execution.events)['Commit']).toBe(2);
    // The retry looked first and took the file; the commit was not sent again.
    expect(e.box.stats().requests.commit).toBe(1);
    const file = e.box.findFile(folder.id, 'garbled-commit.bin');
    expect(file?.file_version).toBeDefined();
    expect(e.box.listSessions().map((s) => s.status)).toEqual(['committed']);
  });
});
