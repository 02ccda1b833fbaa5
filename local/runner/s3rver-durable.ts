// s3rver 3.7.1 answers a PUT (and an UploadPart) as soon as it has read the request body, before the
// file that holds the bytes is fully written, and it overwrites an object's file in place. A HEAD or
// ranged GET right after the PUT can then see a short object, and a transfer pinned to that size fails
// with Transfer.SourceChanged (seen under load). Real S3 answers only once the object is stored and
// replaces an object whole. createS3rver gives s3rver's store those two properties: bytes go to a
// temporary file beside the target, the write is awaited, then the file is renamed over the target.

import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, ReadStream } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import S3rver from 's3rver';
import type { S3rverOptions, S3rverStoredObject } from 's3rver';

/** Write `content` to `path` through a temporary file and rename; resolves with its size and MD5 once stored. */
export async function writeWhole(path: string, content: Readable | Buffer): Promise<{ size: number; md5: string }> {
  await mkdir(dirname(path), { recursive: true });
  // Not ending in s3rver's "._S3rver_object" suffix, so a listing never shows it.
  const temp = `${path}.writing-${randomUUID()}`;
  const md5 = createHash('md5');
  let size = 0;
  const count = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      md5.update(chunk);
      size += chunk.length;
      done(null, chunk);
    },
  });
  try {
    await pipeline(Buffer.isBuffer(content) ? Readable.from([content]) : content, count, createWriteStream(temp));
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  return { size, md5: md5.digest('hex') };
}

/**
 * s3rver streams an object's file in Node's default 64 KiB reads; the bytes of a GET go out in 1 MiB
 * reads instead: the same answer, a sixteenth of the reads, stream turns and socket writes (the local S3
 * served every byte of a transfer twice, its CPU was most of the machine's: BENCHMARKS.md, end to end).
 */
const GET_READ_BYTES = 1024 * 1024;

/** The same file range as `stream`, read in GET_READ_BYTES; resolves once it is open (as s3rver's own). */
async function inLargerReads(stream: ReadStream): Promise<ReadStream> {
  const { path, start, end } = stream as ReadStream & { start?: number; end?: number };
  const larger = createReadStream(path, { start, end, highWaterMark: GET_READ_BYTES });
  try {
    await new Promise<void>((resolve, reject) => larger.once('open', () => resolve()).once('error', reject));
  } catch (error) {
    larger.destroy();
    throw error;
  }
  stream.destroy();
  return larger;
}

/** An s3rver whose PUT and UploadPart answer only once the bytes are stored, replacing the old ones whole. */
export function createS3rver(options: S3rverOptions): S3rver {
  const server = new S3rver(options);
  const store = server.store;
  const getObject = store.getObject.bind(store);
  store.getObject = async (bucket, key, range) => {
    const object = await getObject(bucket, key, range);
    if (object?.content instanceof ReadStream) object.content = await inLargerReads(object.content);
    return object;
  };
  store.putObject = async (object: S3rverStoredObject) => {
    const stored = await writeWhole(store.getResourcePath(object.bucket, object.key, 'object'), object.content);
    await store.putMetadata(object.bucket, object.key, object.metadata, stored.md5);
    return stored;
  };
  store.putPart = async (bucket: string, uploadId: string, partNumber: number, content: Readable) => {
    const partPath = join(store.getResourcePath(bucket, undefined, 'uploads'), uploadId, String(partNumber));
    const stored = await writeWhole(partPath, content);
    await writeFile(`${partPath}.md5`, stored.md5);
    return stored;
  };
  return server;
}
