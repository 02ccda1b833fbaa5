// The transfer Lambdas called in sequence, as the state machine would, over real loopback:
// s3rver as S3 and the Box emulator as Box, through the real Box client.
import { createHash } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startBoxEmulator } from '../../local/box-emulator/index.ts';
import type { BoxEmulator } from '../../local/box-emulator/index.ts';
import { makeTaskHandlers } from '../../functions/index.ts';
import type { TransferProgressEvent } from '../../src/transfer/deps.ts';
import type { HandlerDeps } from '../../functions/index.ts';
import { BoxClient, DeveloperTokenAuth } from '../../src/box/index.ts';
import type {
  AbortSessionResult,
  CommitProgress,
  HashProgress,
  PrepareResult,
  TransferInput,
  TransferOutput,
  UploadBatchResult,
} from '../../src/transfer/contract.ts';
import { silentLogger } from '../../src/transfer/logger.ts';
import { rejection } from '../support/rejection.ts';
import type { TransferSettings } from '../../src/transfer/settings.ts';
import { lambdaContext, startTestS3, testBytes } from '../transfer/helpers.ts';
import type { TestS3 } from '../transfer/helpers.ts';

const KiB = 1024;
const PART = 256 * KiB;
const BUCKET = 'source-bucket';
const DIRECT_MAX = 1_000_000; // scaled down from 20,000,000 so the files stay small

let s3: TestS3;
let emu: BoxEmulator;
let client: BoxClient;

const settings: Partial<TransferSettings> = {
  directUploadMax: DIRECT_MAX,
  hashRangeBytes: 128 * KiB,
  hashRangesInFlight: 3,
  hashSafetyMarginMs: 20_000,
  // No rate is assumed to fit: the hash measures (both hashers) until its fake deadline, so the
  // resumable path runs over several invocations.
  hashFloorBytesPerSecond: 1,
  partsMismatchRetrySeconds: 1,
};

function handlersWith(extra: Partial<TransferSettings> = {}, onProgress?: HandlerDeps['onProgress']) {
  const deps: HandlerDeps = {
    s3: s3.s3,
    box: async () => client,
    logger: silentLogger,
    settings: { ...settings, ...extra },
    ...(onProgress ? { onProgress } : {}),
  };
  return makeTaskHandlers(deps);
}

beforeAll(async () => {
  s3 = await startTestS3([BUCKET]);
  emu = await startBoxEmulator({ partSize: PART, minChunkedFileSize: DIRECT_MAX, commitProcessing: { mode: 'count', times: 2, retryAfterSeconds: 3 } });
  client = new BoxClient({
    auth: new DeveloperTokenAuth(emu.token),
    apiUrl: emu.url,
    uploadUrl: emu.uploadUrl,
    retry: { maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 20 },
  });
});
afterEach(() => emu.faults.clear());
afterAll(async () => {
  await client?.close();
  await emu?.close();
  await s3?.close();
});

interface RunResult {
  prepared: PrepareResult;
  batches: UploadBatchResult[];
  hashSteps: HashProgress[];
  commits: CommitProgress[];
  output: TransferOutput;
}

/** Prepare -> UploadBatch for every batch -> HashObject loop -> Commit loop, as the state machine runs them. */
async function runTransfer(input: TransferInput, h = handlersWith()): Promise<RunResult> {
  const ctx = lambdaContext();
  const prepared = (await h.Prepare(input, ctx)) as PrepareResult;
  expect(JSON.stringify(prepared).length).toBeLessThan(4096);
  if (prepared.mode === 'direct') {
    const output = (await h.DirectUpload(prepared, ctx)) as TransferOutput;
    return { prepared, batches: [], hashSteps: [], commits: [], output };
  }
  const { transfer } = prepared;
  // Map iterations run concurrently, up to mapConcurrency at a time.
  const batches: UploadBatchResult[] = [];
  for (let i = 0; i < prepared.batches.length; i += transfer.mapConcurrency) {
    const slice = prepared.batches.slice(i, i + transfer.mapConcurrency);
    batches.push(...((await Promise.all(slice.map((batch) => h.UploadBatch({ transfer, batch }, ctx)))) as UploadBatchResult[]));
  }
  const hashSteps: HashProgress[] = [];
  let hash: HashProgress | undefined;
  // A small fake deadline: every look at the clock costs 1 s of an invocation that starts 5 s beyond its 20 s
  // safety margin (the request budget, 5 s short of the Lambda's end, leaves its reads at least 11 s).
  let looks = 0;
  const hashCtx = lambdaContext(() => 25_000 - 1000 * (looks++ % 10));
  do {
    hash = (await h.HashObject({ transfer, ...(hash ? { hash } : {}) }, hashCtx)) as HashProgress;
    hashSteps.push(hash);
  } while (!hash.done);
  const commits: CommitProgress[] = [];
  let commit: CommitProgress | undefined;
  do {
    commit = (await h.Commit({ transfer, sha1: hash.sha1!, ...(commit ? { commit } : {}) }, ctx)) as CommitProgress;
    commits.push(commit);
  } while (commit.status === 'processing' && commits.length < 20);
  return { prepared, batches, hashSteps, commits, output: commit.output! };
}

function sha1Hex(b: Uint8Array): string {
  return createHash('sha1').update(b).digest('hex');
}

async function expectBoxHas(fileId: string, bytes: Uint8Array): Promise<void> {
  const stored = await emu.readFileContent(fileId);
  expect(stored.length).toBe(bytes.length);
  expect(sha1Hex(stored)).toBe(sha1Hex(bytes));
  // And through Box's download API, as a user would see it.
  const chunks: Buffer[] = [];
  for await (const c of await client.files.downloadFile(fileId)) chunks.push(Buffer.from(c as Uint8Array));
  expect(sha1Hex(Buffer.concat(chunks))).toBe(sha1Hex(bytes));
}

async function errorOf(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (err) {
    return err as Error;
  }
  throw new Error('expected a failure');
}

describe('chunked transfer', () => {
  it('moves a multi-batch object byte-exact, hashing over several invocations and committing through 202s', async () => {
    const size = 13 * PART - 1000; // 13 parts, the last one short
    const bytes = testBytes(size, 11);
    await s3.put(BUCKET, 'exports/ümlaut and spaces.bin', bytes);
    const folder = await emu.createFolder('chunked-main');
    const progress: TransferProgressEvent[] = [];
    // The emulator is shared by the file: the peak of parts in flight below is this transfer's alone.
    emu.resetStats();
    const r = await runTransfer(
      {
        source: { bucket: BUCKET, key: 'exports/ümlaut and spaces.bin' },
        destination: { folderId: folder.id },
        options: { concurrency: 6, partsPerBatch: 4 },
      },
      handlersWith({}, (e) => progress.push(e)),
    );
    const { transfer } = r.prepared;
    expect(r.prepared.mode).toBe('chunked');
    expect(transfer.session).toMatchObject({ partSize: PART, totalParts: 13 });
    expect(r.prepared.batches).toEqual([0, 1, 2, 3]);
    expect(transfer).toMatchObject({ partsPerBatch: 4, partsInFlight: 3, mapConcurrency: 2 });
    expect(r.batches.map((b) => b.parts)).toEqual([4, 4, 4, 1]);
    expect(r.batches.reduce((n, b) => n + b.bytes, 0)).toBe(size);
    expect(r.hashSteps.length).toBeGreaterThan(2);
    expect(r.hashSteps.slice(0, -1).every((step) => !step.done && step.state !== undefined && step.offset % (128 * KiB) === 0)).toBe(true);
    expect(r.hashSteps.at(-1)).toMatchObject({ done: true, offset: size, via: 'computed', invocations: r.hashSteps.length });
    expect(r.commits.map((c) => c.status)).toEqual(['processing', 'processing', 'committed']);
    expect(r.commits[0]).toMatchObject({ retryAfterSeconds: 3, attempts: 1, waitedSeconds: 3 });
    expect(r.output).toMatchObject({
      file: { name: 'ümlaut and spaces.bin', size, sha1: sha1Hex(bytes), parentId: folder.id },
      bytes: size,
      parts: 13,
      mode: 'chunked',
    });
    await expectBoxHas(r.output.file.id, bytes);
    // content_modified_at comes from S3's LastModified.
    const file = emu.getFile(r.output.file.id)!;
    expect(Date.parse(file.content_modified_at)).toBe(Date.parse(transfer.source.lastModified.replace(/\.\d{3}Z$/, 'Z')));
    expect(emu.stats().maxPartsInFlight).toBeLessThanOrEqual(6);
    // Progress inside invocations (a local display's feed): every part once, hashing up to the end.
    const parts = progress.filter((e) => e.type === 'part-uploaded');
    expect(parts.map((e) => e.offset).sort((a, b) => a - b)).toEqual(Array.from({ length: 13 }, (_, i) => i * PART));
    expect(parts.reduce((n, e) => n + e.size, 0)).toBe(size);
    const hashed = progress.filter((e) => e.type === 'hashed').map((e) => e.offset);
    expect(hashed).toEqual([...hashed].sort((a, b) => a - b));
    expect(hashed.at(-1)).toBe(size);
  });

  it('a retried batch and a part stored-then-500 are both safe', async () => {
    const size = 6 * PART;
    const bytes = testBytes(size, 12);
    await s3.put(BUCKET, 'retry.bin', bytes);
    const folder = await emu.createFolder('chunked-retry');
    const h = handlersWith();
    const ctx = lambdaContext();
    const prepared = (await h.Prepare(
      { source: { bucket: BUCKET, key: 'retry.bin' }, destination: { folderId: folder.id }, options: { partsPerBatch: 3, concurrency: 2 } },
      ctx,
    )) as PrepareResult;
    const { transfer } = prepared;
    emu.faults.inject({ operation: 'uploadPart', nth: 2, action: { type: 'storeThenFail', status: 500 } });
    const first = (await h.UploadBatch({ transfer, batch: 0 }, ctx)) as UploadBatchResult;
    // The part stored-then-500 is retried by the client, meets 416 with the same SHA-1: already there.
    expect(first).toMatchObject({ batch: 0, parts: 3, bytes: 3 * PART, alreadyUploaded: 1 });
    // The Map retries batch 0 (say its Lambda timed out after the parts landed).
    const before = emu.stats().requests;
    const again = (await h.UploadBatch({ transfer, batch: 0 }, ctx)) as UploadBatchResult;
    expect(again).toMatchObject({ batch: 0, parts: 3, bytes: 3 * PART, alreadyUploaded: 3 });
    // The first parts in flight (2) meet their 416, each checked in list parts (one page each); the batch
    // then lists the session once and skips the third part instead of reading it from S3 and sending it again.
    const after = emu.stats().requests;
    expect(transfer.partsInFlight).toBe(2);
    expect(after.uploadPart - before.uploadPart).toBe(2);
    expect(after.listParts - before.listParts).toBe(2 + 1);
    // Told it is a retry ($$.State.RetryCount), the batch lists once up front and sends nothing.
    const third = (await h.UploadBatch({ transfer, batch: 0, retryCount: 2 }, ctx)) as UploadBatchResult;
    expect(third).toMatchObject({ batch: 0, parts: 3, bytes: 3 * PART, alreadyUploaded: 3 });
    expect(emu.stats().requests.uploadPart).toBe(after.uploadPart);
    expect(emu.stats().requests.listParts - after.listParts).toBe(1);
    await h.UploadBatch({ transfer, batch: 1 }, ctx);
    expect(emu.listSessions().find((s) => s.id === transfer.session!.id)).toMatchObject({ partsUploaded: 6 });
    let hash: HashProgress | undefined;
    do hash = (await h.HashObject({ transfer, ...(hash ? { hash } : {}) }, ctx)) as HashProgress;
    while (!hash.done);
    let commit: CommitProgress | undefined;
    do commit = (await h.Commit({ transfer, sha1: hash.sha1!, ...(commit ? { commit } : {}) }, ctx)) as CommitProgress;
    while (commit.status === 'processing');
    await expectBoxHas(commit.output!.file.id, bytes);
  });

  it('a re-run batch that cannot list the stored parts fails with a retryable error (a 416 is never taken on its body alone); its retry skips them all', async () => {
    const bytes = testBytes(5 * PART, 13); // chunked: above DIRECT_MAX
    await s3.put(BUCKET, 'relist.bin', bytes);
    const folder = await emu.createFolder('chunked-relist');
    const h = handlersWith();
    const ctx = lambdaContext();
    const { transfer } = (await h.Prepare(
      { source: { bucket: BUCKET, key: 'relist.bin' }, destination: { folderId: folder.id }, options: { partsPerBatch: 5, concurrency: 1 } },
      ctx,
    )) as PrepareResult;
    await h.UploadBatch({ transfer, batch: 0 }, ctx);
    emu.faults.inject({ operation: 'listParts', action: { type: 'status', status: 503 } });
    const failed = await rejection(h.UploadBatch({ transfer, batch: 0 }, ctx));
    expect(failed.name).toBe('Box.ServerError'); // retried by the state machine
    emu.faults.clear();
    // The state machine's retry knows it is one ($$.State.RetryCount): it lists first and sends nothing.
    const before = emu.stats().requests;
    const again = (await h.UploadBatch({ transfer, batch: 0, retryCount: 1 }, ctx)) as UploadBatchResult;
    expect(again).toMatchObject({ parts: 5, bytes: 5 * PART, alreadyUploaded: 5 });
    const after = emu.stats().requests;
    expect(after.uploadPart - before.uploadPart).toBe(0);
    expect(after.listParts - before.listParts).toBe(1);
  });

  it('keeps at most partsInFlight parts of a batch in flight', async () => {
    const size = 8 * PART;
    await s3.put(BUCKET, 'in-flight.bin', testBytes(size, 18));
    const folder = await emu.createFolder('in-flight');
    const h = handlersWith();
    const ctx = lambdaContext();
    const { transfer, batches } = (await h.Prepare(
      { source: { bucket: BUCKET, key: 'in-flight.bin' }, destination: { folderId: folder.id }, options: { concurrency: 3, partsPerBatch: 8 } },
      ctx,
    )) as PrepareResult;
    expect(batches).toEqual([0]);
    expect(transfer).toMatchObject({ partsInFlight: 3, mapConcurrency: 1 });
    // Parts are held at Box until 3 are in flight there (no more start while they are held), then go on.
    let release!: () => void;
    emu.faults.inject({ operation: 'uploadPart', action: { type: 'hold', until: new Promise<void>((resolve) => (release = resolve)) } });
    emu.resetStats();
    const uploading = h.UploadBatch({ transfer, batch: 0 }, ctx) as Promise<UploadBatchResult>;
    while (emu.stats().partsInFlight < 3) await new Promise((resolve) => setTimeout(resolve, 5));
    release();
    const r = await uploading;
    expect(r).toMatchObject({ parts: 8, bytes: size });
    expect(emu.stats().maxPartsInFlight).toBe(3);
  });

  it('Commit before every part landed fails with Transfer.PartsIncomplete; a transient parts_mismatch waits', async () => {
    const size = 5 * PART;
    const bytes = testBytes(size, 13);
    await s3.put(BUCKET, 'commit.bin', bytes);
    const folder = await emu.createFolder('chunked-commit');
    const h = handlersWith();
    const ctx = lambdaContext();
    const { transfer } = (await h.Prepare(
      { source: { bucket: BUCKET, key: 'commit.bin' }, destination: { folderId: folder.id }, options: { partsPerBatch: 3 } },
      ctx,
    )) as PrepareResult;
    const sha1 = createHash('sha1').update(bytes).digest('base64');
    await h.UploadBatch({ transfer, batch: 0 }, ctx);
    const incomplete = await errorOf(h.Commit({ transfer, sha1 }, ctx));
    expect(incomplete.name).toBe('Transfer.PartsIncomplete');
    expect(incomplete.message).toMatch(/3 of 5 parts: part 3 \(offset 786432\) is missing/);
    await h.UploadBatch({ transfer, batch: 1 }, ctx);
    emu.faults.inject({ operation: 'commit', nth: 1, action: { type: 'partsMismatch' } });
    const first = (await h.Commit({ transfer, sha1 }, ctx)) as CommitProgress;
    expect(first).toMatchObject({ status: 'processing', retryAfterSeconds: 1, partsMismatches: 1, attempts: 1 });
    let commit = first;
    while (commit.status === 'processing') commit = (await h.Commit({ transfer, sha1, commit }, ctx)) as CommitProgress;
    expect(commit.attempts).toBeGreaterThan(1);
    await expectBoxHas(commit.output!.file.id, bytes);
    // The Commit Lambda run again after its answer was lost: the same file, no second version.
    const again = (await h.Commit({ transfer, sha1 }, ctx)) as CommitProgress;
    expect(again.output?.file).toEqual(commit.output!.file);
  });

  it('a name taken while the parts uploaded fails the Commit with Transfer.NameConflict', async () => {
    const size = 4 * PART;
    const bytes = testBytes(size, 19);
    await s3.put(BUCKET, 'race.bin', bytes);
    await s3.put(BUCKET, 'race-small.bin', testBytes(1000, 20));
    const folder = await emu.createFolder('commit-conflict');
    const h = handlersWith({ maxCommitWaitSeconds: 100 });
    const ctx = lambdaContext();
    const { transfer, batches } = (await h.Prepare({ source: { bucket: BUCKET, key: 'race.bin' }, destination: { folderId: folder.id } }, ctx)) as PrepareResult;
    for (const batch of batches) await h.UploadBatch({ transfer, batch }, ctx);
    // Meanwhile another transfer lands a file under the same name.
    const other = await runTransfer({ source: { bucket: BUCKET, key: 'race-small.bin' }, destination: { folderId: folder.id, fileName: 'race.bin' } });
    const sha1 = createHash('sha1').update(bytes).digest('base64');
    let commit: CommitProgress | undefined;
    const err = await errorOf(
      (async () => {
        do commit = (await h.Commit({ transfer, sha1, ...(commit ? { commit } : {}) }, ctx)) as CommitProgress;
        while (commit.status === 'processing');
      })(),
    );
    expect(err.name).toBe('Transfer.NameConflict');
    expect(err.message).toContain('"race.bin" was taken');
    expect(await h.AbortSession({ transfer, error: { Error: err.name, Cause: err.message } }, ctx)).toEqual({ aborted: true });
    expect(emu.findFile(folder.id, 'race.bin')?.id).toBe(other.output.file.id);
  });

  it('gives up with Transfer.CommitGaveUp past the allowed wait', async () => {
    const size = 4 * PART + 1;
    await s3.put(BUCKET, 'slow-commit.bin', testBytes(size, 14));
    const folder = await emu.createFolder('chunked-gaveup');
    const h = handlersWith({ maxCommitWaitSeconds: 3 });
    const ctx = lambdaContext();
    const { transfer, batches } = (await h.Prepare({ source: { bucket: BUCKET, key: 'slow-commit.bin' }, destination: { folderId: folder.id } }, ctx)) as PrepareResult;
    for (const batch of batches) await h.UploadBatch({ transfer, batch }, ctx);
    const sha1 = createHash('sha1').update(testBytes(size, 14)).digest('base64');
    const first = (await h.Commit({ transfer, sha1 }, ctx)) as CommitProgress;
    expect(first).toMatchObject({ status: 'processing', retryAfterSeconds: 3, waitedSeconds: 3 });
    // The second 202 finds the whole allowed wait used up.
    const err = await errorOf(h.Commit({ transfer, sha1, commit: first }, ctx));
    expect(err.name).toBe('Transfer.CommitGaveUp');
    expect(err.message).toContain('after 2 attempts and 3 s of waiting');
  });

  it('a source changed mid-transfer fails with Transfer.SourceChanged, and AbortSession leaves no open session', async () => {
    const size = 5 * PART;
    await s3.put(BUCKET, 'changing.bin', testBytes(size, 15));
    const folder = await emu.createFolder('chunked-changed');
    const h = handlersWith();
    const ctx = lambdaContext();
    const { transfer } = (await h.Prepare(
      { source: { bucket: BUCKET, key: 'changing.bin' }, destination: { folderId: folder.id }, options: { partsPerBatch: 2 } },
      ctx,
    )) as PrepareResult;
    await h.UploadBatch({ transfer, batch: 0 }, ctx);
    await s3.put(BUCKET, 'changing.bin', testBytes(size, 16)); // overwritten in place (same size)
    const err = await errorOf(h.UploadBatch({ transfer, batch: 1 }, ctx));
    expect(err.name).toBe('Transfer.SourceChanged');
    expect(err.message).toContain('s3://source-bucket/changing.bin');
    const hashErr = await errorOf(h.HashObject({ transfer }, ctx));
    expect(hashErr.name).toBe('Transfer.SourceChanged');

    const sessionId = transfer.session!.id;
    expect(emu.listSessions().find((s) => s.id === sessionId)?.status).toBe('open');
    const aborted = (await h.AbortSession({ transfer, error: { Error: err.name, Cause: err.message } }, ctx)) as AbortSessionResult;
    expect(aborted).toEqual({ aborted: true });
    expect(emu.listSessions().filter((s) => s.id === sessionId && s.status === 'open')).toHaveLength(0);
    expect(emu.findFile(folder.id, 'changing.bin')).toBeUndefined();
  });

  it('AbortSession never throws: no session, or Box failing the DELETE', async () => {
    const h = handlersWith();
    const ctx = lambdaContext();
    expect(await h.AbortSession({ error: { Error: 'Transfer.InvalidInput', Cause: 'x' } }, ctx)).toEqual({ aborted: false, reason: 'no upload session' });
    await s3.put(BUCKET, 'abort-fail.bin', testBytes(4 * PART, 17));
    const folder = await emu.createFolder('abort-fail');
    const { transfer } = (await h.Prepare({ source: { bucket: BUCKET, key: 'abort-fail.bin' }, destination: { folderId: folder.id } }, ctx)) as PrepareResult;
    emu.faults.inject({ operation: 'abortSession', action: { type: 'status', status: 403, code: 'forbidden' } });
    const r = (await h.AbortSession({ transfer, error: { Error: 'Box.ServerError', Cause: 'y' } }, ctx)) as AbortSessionResult;
    expect(r.aborted).toBe(false);
    expect(r.reason).toMatch(/^Box\.Forbidden/);
  });
});

describe('conflict with a folder', () => {
  it('version cannot apply to a folder that holds the name: Transfer.NameConflict', async () => {
    const folder = await emu.createFolder('folder-conflict');
    await emu.createFolder('taken.bin', folder.id);
    await s3.put(BUCKET, 'taken.bin', testBytes(5 * PART, 41));
    const err = await errorOf(runTransfer({ source: { bucket: BUCKET, key: 'taken.bin' }, destination: { folderId: folder.id } }));
    expect(err.name).toBe('Transfer.NameConflict');
    expect(err.message).toContain('by a folder');
    expect(emu.listSessions().filter((s) => s.folderId === folder.id)).toHaveLength(0);
  });
});

describe('direct upload', () => {
  it('checks the bytes against the SHA-1 S3 holds, before Box is asked to store anything', async () => {
    const folder = await emu.createFolder('direct-checksum');
    const bytes = testBytes(5000, 42);
    await s3.put(BUCKET, 'checked.bin', bytes);
    const h = handlersWith();
    const ctx = lambdaContext();
    const prepared = (await h.Prepare({ source: { bucket: BUCKET, key: 'checked.bin' }, destination: { folderId: folder.id } }, ctx)) as PrepareResult;
    // s3rver keeps no checksums: give the pinned source the one real S3 would report.
    const right = { ...prepared, transfer: { ...prepared.transfer, source: { ...prepared.transfer.source, sha1: createHash('sha1').update(bytes).digest('base64') } } };
    const out = (await h.DirectUpload(right, ctx)) as TransferOutput;
    expect(out.file.sha1).toBe(sha1Hex(bytes));
    const wrong = { ...right, transfer: { ...right.transfer, destination: { ...right.transfer.destination, fileName: 'wrong.bin' }, source: { ...right.transfer.source, sha1: Buffer.alloc(20).toString('base64') } } };
    const uploadsBefore = emu.stats().requests.uploadFile;
    const err = await errorOf(h.DirectUpload(wrong, ctx));
    expect(err.name).toBe('Transfer.SourceChanged');
    expect(emu.stats().requests.uploadFile).toBe(uploadsBefore);
    expect(emu.findFile(folder.id, 'wrong.bin')).toBeUndefined();
  });

  it('sends the SHA-1 of the bytes it read as Content-MD5, so Box checks them before storing', async () => {
    const folder = await emu.createFolder('direct-md5');
    const bytes = testBytes(7000, 43);
    await s3.put(BUCKET, 'md5.bin', bytes);
    const seen: (string | undefined)[] = [];
    // The real client, with its direct upload observed.
    const observed = {
      ...client,
      chunkedUploads: client.chunkedUploads,
      folders: client.folders,
      files: {
        ...client.files,
        getFile: client.files.getFile.bind(client.files),
        downloadFile: client.files.downloadFile.bind(client.files),
        uploadFileVersion: client.files.uploadFileVersion.bind(client.files),
        uploadFile: (req: Parameters<typeof client.files.uploadFile>[0], opts?: Parameters<typeof client.files.uploadFile>[1]) => {
          seen.push(req.sha1Hex);
          return client.files.uploadFile(req, opts);
        },
      },
    };
    const h = makeTaskHandlers({ s3: s3.s3, box: async () => observed as unknown as BoxClient, logger: silentLogger, settings });
    const out = await runTransfer({ source: { bucket: BUCKET, key: 'md5.bin' }, destination: { folderId: folder.id } }, h);
    expect(seen).toEqual([sha1Hex(bytes)]);
    await expectBoxHas(out.output.file.id, bytes);
  });

  it('moves a 0-byte object and a small one byte-exact', async () => {
    const folder = await emu.createFolder('direct');
    await s3.put(BUCKET, 'empty.txt', new Uint8Array(0));
    const empty = await runTransfer({ source: { bucket: BUCKET, key: 'empty.txt' }, destination: { folderId: folder.id } });
    expect(empty.prepared).toMatchObject({ mode: 'direct', batches: [] });
    expect(empty.output).toMatchObject({ file: { name: 'empty.txt', size: 0, sha1: sha1Hex(new Uint8Array(0)), parentId: folder.id }, bytes: 0, parts: 0, mode: 'direct' });
    await expectBoxHas(empty.output.file.id, new Uint8Array(0));

    const bytes = testBytes(DIRECT_MAX - 1, 21);
    await s3.put(BUCKET, 'a/b/small.bin', bytes);
    const small = await runTransfer({ source: { bucket: BUCKET, key: 'a/b/small.bin' }, destination: { folderId: folder.id, fileName: 'renamed small.bin' } });
    expect(small.output).toMatchObject({ file: { name: 'renamed small.bin', size: bytes.length, sha1: sha1Hex(bytes) }, mode: 'direct' });
    await expectBoxHas(small.output.file.id, bytes);
  });
});

describe.each([
  ['direct', 300 * KiB],
  ['chunked', 5 * PART + 7],
])('conflict policies (%s)', (mode, size) => {
  it('version (default) uploads a new version of the file that holds the name', async () => {
    const folder = await emu.createFolder(`conflict-version-${mode}`);
    const v1 = testBytes(size, 31);
    const v2 = testBytes(size, 32);
    await s3.put(BUCKET, `${mode}/same.bin`, v1);
    const first = await runTransfer({ source: { bucket: BUCKET, key: `${mode}/same.bin` }, destination: { folderId: folder.id } });
    expect(first.prepared.mode).toBe(mode);
    await s3.put(BUCKET, `${mode}/same.bin`, v2);
    const second = await runTransfer({ source: { bucket: BUCKET, key: `${mode}/same.bin` }, destination: { folderId: folder.id } });
    expect(second.output.file.id).toBe(first.output.file.id);
    expect(second.output.file.versionId).not.toBe(first.output.file.versionId);
    expect(second.output.file.sha1).toBe(sha1Hex(v2));
    await expectBoxHas(second.output.file.id, v2);
  });

  it('rename picks "name (n).ext"', async () => {
    const folder = await emu.createFolder(`conflict-rename-${mode}`);
    const input: TransferInput = { source: { bucket: BUCKET, key: `${mode}/report.pdf` }, destination: { folderId: folder.id }, onConflict: 'rename' };
    const names: string[] = [];
    let bytes = testBytes(size, 33);
    for (let i = 0; i < 3; i++) {
      bytes = testBytes(size, 33 + i);
      await s3.put(BUCKET, `${mode}/report.pdf`, bytes);
      names.push((await runTransfer(input)).output.file.name);
    }
    expect(names).toEqual(['report.pdf', 'report (1).pdf', 'report (2).pdf']);
    await expectBoxHas(emu.findFile(folder.id, 'report (2).pdf')!.id, bytes);
    if (mode === 'direct') {
      // The same bytes again: a direct upload takes the file that already holds them (it may be an earlier
      // try whose answer was lost), whichever name of the loop it is under; no "report (3).pdf".
      const again = await runTransfer(input);
      expect(again.output.file).toMatchObject({ name: 'report (2).pdf', sha1: sha1Hex(bytes) });
      expect(emu.findFile(folder.id, 'report (3).pdf')).toBeUndefined();
    }
  });

  it('fail stops with Transfer.NameConflict and leaves the existing file alone', async () => {
    const folder = await emu.createFolder(`conflict-fail-${mode}`);
    const bytes = testBytes(size, 34);
    await s3.put(BUCKET, `${mode}/keep.bin`, bytes);
    const input: TransferInput = { source: { bucket: BUCKET, key: `${mode}/keep.bin` }, destination: { folderId: folder.id }, onConflict: 'fail' };
    const first = await runTransfer(input);
    await s3.put(BUCKET, `${mode}/keep.bin`, testBytes(size, 35));
    const err = await errorOf(runTransfer(input));
    expect(err.name).toBe('Transfer.NameConflict');
    expect(err.message).toContain('"keep.bin" is already used');
    await expectBoxHas(first.output.file.id, bytes);
  });

  it('destination.fileId uploads a new version of that file', async () => {
    const folder = await emu.createFolder(`file-id-${mode}`);
    await s3.put(BUCKET, `${mode}/orig.bin`, testBytes(size, 36));
    const first = await runTransfer({ source: { bucket: BUCKET, key: `${mode}/orig.bin` }, destination: { folderId: folder.id } });
    const next = testBytes(size, 37);
    await s3.put(BUCKET, `${mode}/other-name.bin`, next);
    const r = await runTransfer({ source: { bucket: BUCKET, key: `${mode}/other-name.bin` }, destination: { folderId: folder.id, fileId: first.output.file.id } });
    expect(r.output.file).toMatchObject({ id: first.output.file.id, name: 'orig.bin', sha1: sha1Hex(next) });
    await expectBoxHas(first.output.file.id, next);
  });
});

describe('many parts', () => {
  it('commits 1,100 parts: the parts list is paged from Box (1000 per page), never carried in state', async () => {
    const small = await startBoxEmulator({ partSize: 512, minChunkedFileSize: 1 });
    const smallClient = new BoxClient({ auth: new DeveloperTokenAuth(small.token), apiUrl: small.url, uploadUrl: small.uploadUrl });
    try {
      const size = 1100 * 512 - 100;
      const bytes = testBytes(size, 51);
      await s3.put(BUCKET, 'many-parts.bin', bytes);
      const h = makeTaskHandlers({
        s3: s3.s3,
        box: async () => smallClient,
        logger: silentLogger,
        settings: { directUploadMax: 1, hashRangeBytes: 64 * KiB },
      });
      const ctx = lambdaContext();
      const prepared = (await h.Prepare({ source: { bucket: BUCKET, key: 'many-parts.bin' }, destination: { folderId: '0' } }, ctx)) as PrepareResult;
      expect(prepared.transfer.session!.totalParts).toBe(1100);
      expect(prepared.batches.length).toBeGreaterThan(1);
      expect(JSON.stringify(prepared).length).toBeLessThan(4096);
      for (let i = 0; i < prepared.batches.length; i += prepared.transfer.mapConcurrency) {
        await Promise.all(prepared.batches.slice(i, i + prepared.transfer.mapConcurrency).map((batch) => h.UploadBatch({ transfer: prepared.transfer, batch }, ctx)));
      }
      let hash: HashProgress | undefined;
      do hash = (await h.HashObject({ transfer: prepared.transfer, ...(hash ? { hash } : {}) }, ctx)) as HashProgress;
      while (!hash.done);
      small.resetStats();
      const commit = (await h.Commit({ transfer: prepared.transfer, sha1: hash.sha1! }, ctx)) as CommitProgress;
      expect(commit.status).toBe('committed');
      expect(JSON.stringify(commit).length).toBeLessThan(2048);
      expect(small.stats().requests.listParts).toBe(2);
      expect(commit.output).toMatchObject({ parts: 1100, bytes: size, file: { sha1: sha1Hex(bytes) } });
      expect(sha1Hex(await small.readFileContent(commit.output!.file.id))).toBe(sha1Hex(bytes));
    } finally {
      await smallClient.close();
      await small.close();
    }
  }, 300_000); // 1,100 part PUTs and two list pages: past the default 60 s on a heavily loaded machine
});
