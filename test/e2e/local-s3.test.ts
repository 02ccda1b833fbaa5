// The local S3 helper the tests and the `npm start` demo stand on: s3rver on a free port, a client that
// stores streamed bodies byte for byte, deterministic generated objects with their SHA-1.
import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3';
import { describe, expect, it } from 'vitest';
import { generatedBytes, putGeneratedObject, startLocalS3 } from '../../local/runner/index.ts';

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
