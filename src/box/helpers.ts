// Small pure helpers for Box's upload wire format: SHA-1 encodings, `Digest` and `Content-Range`
// headers, and the part layout of a chunked session.
import { createHash } from 'node:crypto';

/** Box refuses chunked upload sessions below this size (decimal bytes); smaller files go direct. */
export const MIN_CHUNKED_FILE_SIZE = 20_000_000;

/** SHA-1 of `bytes`, base64 (as `Digest: sha=` wants it). */
export function sha1Base64(bytes: Uint8Array): string {
  return createHash('sha1').update(bytes).digest('base64');
}

/** SHA-1 of `bytes`, lower-case hex (as Box returns it in `sha1` fields and wants it in `Content-MD5`). */
export function sha1Hex(bytes: Uint8Array): string {
  return createHash('sha1').update(bytes).digest('hex');
}

export function hexToBase64(hex: string): string {
  return Buffer.from(hex, 'hex').toString('base64');
}

export function base64ToHex(base64: string): string {
  return Buffer.from(base64, 'base64').toString('hex');
}

/** `Digest` header value (RFC 3230) for a base64 SHA-1: `sha=<b64>`. */
export function digestHeader(sha1Base64Value: string): string {
  return `sha=${sha1Base64Value}`;
}

/** `Content-Range` header value for a part: `bytes <first>-<last>/<total>` (inclusive bounds). */
export function contentRangeHeader(offset: number, size: number, total: number): string {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(size) || !Number.isSafeInteger(total) || offset < 0 || size <= 0 || offset + size > total) {
    throw new RangeError(`invalid part range: offset ${offset}, size ${size}, total ${total}`);
  }
  return `bytes ${offset}-${offset + size - 1}/${total}`;
}

export interface ByteRange {
  offset: number;
  size: number;
  total: number;
}

/** Parses `bytes a-b/total`; undefined when it is not that shape. */
export function parseContentRange(value: string): ByteRange | undefined {
  const m = /^\s*bytes\s+(\d+)-(\d+)\/(\d+)\s*$/i.exec(value);
  if (!m) return undefined;
  const first = Number(m[1]);
  const last = Number(m[2]);
  const total = Number(m[3]);
  if (last < first) return undefined;
  return { offset: first, size: last - first + 1, total };
}

/** Extracts the base64 SHA-1 from a `Digest` header value (`sha=` / `SHA=`); undefined otherwise. */
export function parseSha1Digest(value: string): string | undefined {
  for (const item of value.split(',')) {
    const eq = item.indexOf('=');
    if (eq > 0 && item.slice(0, eq).trim().toLowerCase() === 'sha') return item.slice(eq + 1).trim();
  }
  return undefined;
}

export interface PlannedPart {
  /** 0-based part number. */
  index: number;
  offset: number;
  size: number;
}

/** Number of parts a session of `partSize` needs for `fileSize` bytes. */
export function partCount(fileSize: number, partSize: number): number {
  if (!(partSize > 0)) throw new RangeError(`invalid part size ${partSize}`);
  return Math.ceil(fileSize / partSize);
}

/** The parts of a chunked upload: every one `partSize` bytes except a shorter last one. Never an empty part. */
export function planParts(fileSize: number, partSize: number): PlannedPart[] {
  if (!Number.isSafeInteger(fileSize) || fileSize < 0) throw new RangeError(`invalid file size ${fileSize}`);
  const count = partCount(fileSize, partSize);
  const parts: PlannedPart[] = [];
  for (let index = 0; index < count; index++) {
    const offset = index * partSize;
    parts.push({ index, offset, size: Math.min(partSize, fileSize - offset) });
  }
  return parts;
}
