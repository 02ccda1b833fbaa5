// Hashing what a download stream delivers, for byte-exact checks.
import { createHash } from 'node:crypto';

/** Hex SHA-1 and length of everything the stream yields. */
export async function sha1OfStream(stream: AsyncIterable<unknown>): Promise<{ sha1: string; size: number }> {
  const hash = createHash('sha1');
  let size = 0;
  for await (const chunk of stream) {
    const bytes = chunk as Uint8Array;
    hash.update(bytes);
    size += bytes.byteLength;
  }
  return { sha1: hash.digest('hex'), size };
}
