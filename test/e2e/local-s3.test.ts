// The local S3 helper the tests and the `npm start` demo stand on: s3rver on a free port, a client that
// stores streamed bodies byte for byte, deterministic generated objects with their SHA-1; s3rver made to
// answer a PUT only once the object is stored whole.
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ReadStream } from 'node:fs';
import {
  CompleteMultipartUploadCommand,
  CreateBucketCommand,
  CreateMultipartUploadCommand,
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { generatedBytes, putGeneratedObject, startLocalS3 } from '../../local/runner/index.ts';
import { createS3rver, writeWhole } from '../../local/runner/s3rver-durable.ts';
import { localS3Client } from '../../local/runner/local-s3-client.ts';

async function sha1Of(chunks: AsyncIterable<Uint8Array>): Promise<{ sha1: string; size: number }> {
  const hash = createHash('sha1');
  let size = 0;
  for await (const chunk of chunks) {
    hash.update(chunk);
    size += chunk.length;
  }
  return { sha1: hash.digest('hex'), size };
}

describe('startLocalS3 / putGeneratedObject', () => {
  it('stores a streamed generated object byte for byte and reports its SHA-1', async () => {
    const s3 = await startLocalS3({ buckets: ['demo-bucket'] });
    try {
      expect(s3.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const size = 3 * 1024 * 1024 + 5; // several generator chunks and a short one
      const put = await putGeneratedObject(s3.client, { bucket: 'demo-bucket', key: 'dir/file name.bin', size, seed: 'x' });
      expect(put.size).toBe(size);
      expect(put.sha1).toBe((await sha1Of(generatedBytes(size, 'x'))).sha1);
      const head = await s3.client.send(new HeadObjectCommand({ Bucket: 'demo-bucket', Key: 'dir/file name.bin' }));
      expect(head.ContentLength).toBe(size);
      const got = await s3.client.send(new GetObjectCommand({ Bucket: 'demo-bucket', Key: 'dir/file name.bin' }));
      expect(await sha1Of(got.Body as AsyncIterable<Uint8Array>)).toEqual({ sha1: put.sha1, size });
      // Another seed, other bytes; an empty object is fine too.
      expect((await sha1Of(generatedBytes(1000, 'y'))).sha1).not.toBe((await sha1Of(generatedBytes(1000, 'x'))).sha1);
      const empty = await putGeneratedObject(s3.client, { bucket: 'demo-bucket', key: 'empty', size: 0 });
      expect(empty.sha1).toBe('da39a3ee5e6b4b0d3255bfef95601890afd80709');
    } finally {
      await s3.close();
    }
  });

  it('removes its own temp folder on close but keeps a folder it was given', async () => {
    const own = await startLocalS3();
    const ownDir = own.dir;
    await own.close();
    await expect(readdir(ownDir)).rejects.toMatchObject({ code: 'ENOENT' });

    const given = await mkdtemp(join(tmpdir(), 's3-to-box-given-'));
    try {
      const s3 = await startLocalS3({ dir: given, buckets: ['kept-bucket'] });
      await putGeneratedObject(s3.client, { bucket: 'kept-bucket', key: 'k', size: 10 });
      await s3.close();
      expect(await readdir(given)).toContain('kept-bucket');
    } finally {
      await rm(given, { recursive: true, force: true });
    }
  });
});

/**
 * Waits until a temporary file of writeWhole below `dir` holds at least `bytes`: proof that the new body is
 * being written (not a pause that a busy machine may outlast before the write has even begun).
 */
async function writingStarted(dir: string, bytes: number): Promise<void> {
  const deadline = Date.now() + 60_000; // only so that a broken store fails the test rather than hangs it
  for (;;) {
    const entries = await readdir(dir, { recursive: true });
    for (const entry of entries.filter((e) => e.includes('.writing-'))) {
      const size = await stat(join(dir, entry)).then((s) => s.size, () => 0);
      if (size >= bytes) return;
    }
    if (Date.now() > deadline) throw new Error(`no temporary file of ${bytes} bytes appeared below ${dir}`);
    await sleep(10);
  }
}

describe('the local S3 stores an object whole before it answers (as S3 does)', () => {
  it('writeWhole keeps the old bytes until the new ones are all written, then replaces them at once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 's3-to-box-whole-'));
    try {
      const target = join(dir, 'a', 'object');
      await writeWhole(target, Buffer.from('old bytes'));
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const body = Readable.from(
        (async function* () {
          yield Buffer.alloc(70_000, 1);
          await gate;
          yield Buffer.alloc(7, 2);
        })(),
      );
      const writing = writeWhole(target, body);
      await writingStarted(dir, 70_000);
      // Half-way (the first 70,000 bytes are on disk): a reader still sees the old object, whole.
      expect((await readFile(target)).toString()).toBe('old bytes');
      release();
      const stored = await writing;
      expect(stored.size).toBe(70_007);
      expect(stored.md5).toBe(createHash('md5').update(Buffer.concat([Buffer.alloc(70_000, 1), Buffer.alloc(7, 2)])).digest('hex'));
      expect((await stat(target)).size).toBe(70_007);
      expect(await readdir(join(dir, 'a'))).toEqual(['object']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('writeWhole leaves the old object and no temporary file when the body fails', async () => {
    const dir = await mkdtemp(join(tmpdir(), 's3-to-box-whole-'));
    try {
      const target = join(dir, 'object');
      await writeWhole(target, Buffer.from('old bytes'));
      const failing = Readable.from(
        (async function* () {
          yield Buffer.alloc(1000);
          throw new Error('client went away');
        })(),
      );
      await expect(writeWhole(target, failing)).rejects.toThrow('client went away');
      expect((await readFile(target)).toString()).toBe('old bytes');
      expect(await readdir(dir)).toEqual(['object']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('a PUT in progress leaves the old object readable whole; once answered, the new one is there whole', async () => {
    const s3 = await startLocalS3({ buckets: ['whole-bucket'] });
    try {
      const old = await putGeneratedObject(s3.client, { bucket: 'whole-bucket', key: 'k', size: 300_000, seed: 'old' });
      let release!: () => void;
      const gate = new Promise<void>((resolve) => (release = resolve));
      const fresh = Buffer.concat([Buffer.alloc(200_000, 5), Buffer.alloc(7, 6)]);
      const putting = s3.client.send(
        new PutObjectCommand({
          Bucket: 'whole-bucket',
          Key: 'k',
          ContentLength: fresh.length,
          Body: Readable.from(
            (async function* () {
              yield fresh.subarray(0, 200_000);
              await gate;
              yield fresh.subarray(200_000);
            })(),
          ),
        }),
      );
      // The first 200,000 bytes are on disk, in the temporary file beside the object.
      await writingStarted(s3.dir, 200_000);
      const during = await s3.client.send(new HeadObjectCommand({ Bucket: 'whole-bucket', Key: 'k' }));
      expect({ size: during.ContentLength, etag: during.ETag }).toEqual({ size: 300_000, etag: old.etag });
      release();
      const put = await putting;
      // No pause between the answer and the reads: the object is stored before the PUT is answered.
      const [head, got] = await Promise.all([
        s3.client.send(new HeadObjectCommand({ Bucket: 'whole-bucket', Key: 'k' })),
        s3.client.send(new GetObjectCommand({ Bucket: 'whole-bucket', Key: 'k', Range: 'bytes=199999-' })),
      ]);
      expect({ size: head.ContentLength, etag: head.ETag }).toEqual({ size: fresh.length, etag: put.ETag });
      expect(Buffer.from(await got.Body!.transformToByteArray())).toEqual(fresh.subarray(199_999));

      // A multipart upload's parts and the object they make go through the same store.
      const { UploadId } = await s3.client.send(new CreateMultipartUploadCommand({ Bucket: 'whole-bucket', Key: 'multi' }));
      const parts = [Buffer.alloc(5 * 1024 * 1024, 3), Buffer.alloc(1234, 4)];
      const etags = [];
      for (const [i, Body] of parts.entries()) {
        etags.push((await s3.client.send(new UploadPartCommand({ Bucket: 'whole-bucket', Key: 'multi', UploadId, PartNumber: i + 1, Body }))).ETag);
      }
      await s3.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: 'whole-bucket',
          Key: 'multi',
          UploadId,
          MultipartUpload: { Parts: etags.map((ETag, i) => ({ ETag, PartNumber: i + 1 })) },
        }),
      );
      const whole = await s3.client.send(new GetObjectCommand({ Bucket: 'whole-bucket', Key: 'multi' }));
      expect(await sha1Of(whole.Body as AsyncIterable<Uint8Array>)).toEqual({
        sha1: createHash('sha1').update(Buffer.concat(parts)).digest('hex'),
        size: 5 * 1024 * 1024 + 1234,
      });
    } finally {
      await s3.close();
    }
  });
});

describe('the local S3 serves GETs in 1 MiB reads', () => {
  it("reads a GET's range from the object's file in 1 MiB reads, the bytes and ranges as before", async () => {
    const dir = await mkdtemp(join(tmpdir(), 's3-to-box-get-'));
    const server = createS3rver({ port: 0, address: '127.0.0.1', silent: true, directory: dir });
    const { port } = await server.run();
    const s3 = localS3Client(`http://127.0.0.1:${port}`);
    try {
      await s3.send(new CreateBucketCommand({ Bucket: 'reads-bucket' }));
      const size = 3 * 1024 * 1024 + 7;
      const put = await putGeneratedObject(s3, { bucket: 'reads-bucket', key: 'k.bin', size });
      // The store's stream, as s3rver's GET handler gets it: the range asked for, in 1 MiB reads.
      const whole = await server.store.getObject('reads-bucket', 'k.bin', { start: 0, end: size - 1 });
      expect(whole?.content).toBeInstanceOf(ReadStream);
      expect((whole?.content as ReadStream).readableHighWaterMark).toBe(1024 * 1024);
      const chunkSizes: number[] = [];
      const hash = createHash('sha1');
      for await (const chunk of whole?.content as ReadStream) {
        chunkSizes.push((chunk as Buffer).length);
        hash.update(chunk as Buffer);
      }
      expect(hash.digest('hex')).toBe(put.sha1);
      expect(chunkSizes).toEqual([1024 * 1024, 1024 * 1024, 1024 * 1024, 7]);
      // Through HTTP: whole, a range, a range past the end, a missing key.
      expect(await sha1Of((await s3.send(new GetObjectCommand({ Bucket: 'reads-bucket', Key: 'k.bin' }))).Body as Readable)).toEqual({ sha1: put.sha1, size });
      const ranged = await s3.send(new GetObjectCommand({ Bucket: 'reads-bucket', Key: 'k.bin', Range: 'bytes=1000-2100000' }));
      expect(ranged.ContentRange).toBe(`bytes 1000-2100000/${size}`);
      const source: Buffer[] = [];
      for await (const chunk of generatedBytes(size, 'reads-bucket/k.bin')) source.push(chunk);
      expect(await sha1Of(ranged.Body as Readable)).toEqual(await sha1Of(Readable.from([Buffer.concat(source).subarray(1000, 2_100_001)])));
      await expect(s3.send(new GetObjectCommand({ Bucket: 'reads-bucket', Key: 'k.bin', Range: `bytes=${size + 10}-${size + 20}` }))).rejects.toMatchObject({ name: 'InvalidRange' });
      await expect(s3.send(new GetObjectCommand({ Bucket: 'reads-bucket', Key: 'missing.bin' }))).rejects.toMatchObject({ name: 'NoSuchKey' });
    } finally {
      s3.destroy();
      await server.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
