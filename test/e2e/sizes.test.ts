// End to end through the local runner (real definition, real handlers, s3rver, Box emulator), byte-exact:
// each file is downloaded back from the emulator and its SHA-1 compared with the bytes put into S3.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MiB, inputFor, startEnv, taskRuns } from './harness.ts';
import type { E2eEnv } from './harness.ts';

const EMPTY_SHA1 = 'da39a3ee5e6b4b0d3255bfef95601890afd80709';

async function expectByteExact(env: E2eEnv, output: { file: { id: string; sha1: string; size: number } }, put: { sha1: string; size: number }) {
  expect(output.file.sha1).toBe(put.sha1);
  expect(output.file.size).toBe(put.size);
  expect(await env.download(output.file.id)).toEqual({ sha1: put.sha1, size: put.size });
}

describe('real Box thresholds (direct below 20,000,000 bytes, 8 MiB parts above)', () => {
  let env: E2eEnv;
  beforeAll(async () => {
    env = await startEnv();
  });
  afterAll(async () => {
    await env?.close();
  });

  it.each([
    ['empty.bin', 0],
    ['one-byte.bin', 1],
    ['just-below.bin', 19_999_999],
  ])('%s (%i bytes) goes through the direct upload', async (key, size) => {
    const folder = await env.box.createFolder(`direct-${size}`);
    const put = await env.put(key, size);
    if (size === 0) expect(put.sha1).toBe(EMPTY_SHA1);
    const execution = env.start(inputFor(key, folder.id));
    const output = await execution.result;
    expect(output).toMatchObject({ mode: 'direct', bytes: size, file: { name: key, parentId: folder.id } });
    await expectByteExact(env, output, put);
    expect(taskRuns(execution.events)).toEqual({ Prepare: 1, DirectUpload: 1 });
    expect(env.box.findFile(folder.id, key)?.id).toBe(output.file.id);
  });

  it('20,000,000 bytes goes chunked (3 parts of 8 MiB), with the hash resumed over several invocations', async () => {
    const folder = await env.box.createFolder('chunked-threshold');
    const put = await env.put('threshold.bin', 20_000_000);
    // A Lambda timeout below HashObject's safety margin (30 s): each invocation hashes one 8 MiB chunk.
    const execution = env.start(inputFor('threshold.bin', folder.id), { lambdaTimeoutMs: { HashObject: 20_000 } });
    const output = await execution.result;
    expect(output).toMatchObject({ mode: 'chunked', bytes: 20_000_000, parts: 3 });
    await expectByteExact(env, output, put);
    const runs = taskRuns(execution.events);
    expect(runs['HashObject']).toBe(3);
    const hashed = execution.events.filter((e) => e.type === 'hash-progress');
    expect(hashed.map((e) => e.type === 'hash-progress' && e.bytes)).toEqual([8 * MiB, 16 * MiB, 20_000_000]);
    expect(env.box.listSessions().filter((s) => s.status === 'open')).toEqual([]);
  });
});

describe('small parts (64 KiB parts, chunked from 100,000 bytes)', () => {
  const partSize = 64 * 1024;
  let env: E2eEnv;
  beforeAll(async () => {
    env = await startEnv({ emulator: { partSize, minChunkedFileSize: 100_000 }, settings: { directUploadMax: 100_000 } });
  });
  afterAll(async () => {
    await env?.close();
  });

  it('an exact multiple of the part size', async () => {
    const folder = await env.box.createFolder('multiple');
    const put = await env.put('multiple.bin', 16 * partSize);
    const output = await env.run(inputFor('multiple.bin', folder.id));
    expect(output).toMatchObject({ mode: 'chunked', parts: 16, bytes: 16 * partSize });
    await expectByteExact(env, output, put);
  });

  it('a multiple of the part size plus one byte (a 1-byte last part)', async () => {
    const folder = await env.box.createFolder('multiple-plus-one');
    const put = await env.put('multiple-plus-one.bin', 16 * partSize + 1);
    const output = await env.run(inputFor('multiple-plus-one.bin', folder.id));
    expect(output).toMatchObject({ mode: 'chunked', parts: 17, bytes: 16 * partSize + 1 });
    await expectByteExact(env, output, put);
  });

  it('several batches, run by the Map with the planned concurrency', async () => {
    const folder = await env.box.createFolder('batches');
    const size = 20 * partSize + 12_345;
    const put = await env.put('batches.bin', size);
    env.box.resetStats();
    const execution = env.start(inputFor('batches.bin', folder.id, { options: { partsPerBatch: 3, concurrency: 4 } }));
    const output = await execution.result;
    expect(output).toMatchObject({ mode: 'chunked', parts: 21, bytes: size });
    await expectByteExact(env, output, put);
    const done = execution.events.filter((e) => e.type === 'batch-done');
    expect(done).toHaveLength(7);
    expect(done.reduce((n, e) => n + (e.type === 'batch-done' ? e.parts : 0), 0)).toBe(21);
    expect(done.reduce((n, e) => n + (e.type === 'batch-done' ? e.bytes : 0), 0)).toBe(size);
    expect(execution.events).toContainEqual(expect.objectContaining({ type: 'prepared', batches: 7, partsPerBatch: 3, totalParts: 21 }));
    expect(env.box.stats().requests.uploadPart).toBe(21);
    expect(env.box.stats().maxPartsInFlight).toBeLessThanOrEqual(4);
  });

  it('a key with spaces and non-ASCII characters', async () => {
    const folder = await env.box.createFolder('unicode');
    const key = 'reports/Q3 2026/résumé – 東京 données (final).bin';
    const put = await env.put(key, 3 * partSize + 7);
    const output = await env.run(inputFor(key, folder.id));
    expect(output.file.name).toBe('résumé – 東京 données (final).bin');
    expect(output.mode).toBe('chunked');
    await expectByteExact(env, output, put);
    expect(env.box.findFile(folder.id, 'résumé – 東京 données (final).bin')?.id).toBe(output.file.id);

    const small = 'notes/a b/ünïcødé ✓.txt';
    const putSmall = await env.put(small, 5_000);
    const direct = await env.run(inputFor(small, folder.id));
    expect(direct).toMatchObject({ mode: 'direct', file: { name: 'ünïcødé ✓.txt' } });
    await expectByteExact(env, direct, putSmall);
  });
});
