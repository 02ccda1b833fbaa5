// Items as the Distributed Map's ItemReader gives them (ListObjectsV2: Key/Size/Etag/LastModified;
// S3 Inventory rows: Bucket/Key/VersionId/Size/ETag; JSONL lines and CSV rows: key/versionId/size),
// normalized to one shape.
import { InvalidInputError } from '../transfer/errors.ts';
import type { SyncItem } from './contract.ts';

export interface ListedObject {
  bucket?: string;
  key: string;
  size?: number;
  etag?: string;
  versionId?: string;
  /** ISO-8601, when the listing gave it (ListObjectsV2: epoch seconds; inventory: LastModifiedDate). */
  lastModified?: string;
}

function pick(item: SyncItem, ...names: string[]): unknown {
  for (const n of names) if (item[n] !== undefined && item[n] !== '') return item[n];
  return undefined;
}

export function normalizeItem(item: SyncItem): ListedObject {
  const key = pick(item, 'Key', 'key');
  if (typeof key !== 'string' || key === '') throw new InvalidInputError(`manifest item has no key: ${JSON.stringify(item).slice(0, 200)}`);
  const out: ListedObject = { key };
  const bucket = pick(item, 'Bucket', 'bucket');
  if (typeof bucket === 'string') out.bucket = bucket;
  const size = pick(item, 'Size', 'size');
  if (size !== undefined) {
    const n = Number(size);
    if (!Number.isSafeInteger(n) || n < 0) throw new InvalidInputError(`manifest item ${JSON.stringify(key)} has an unusable size ${JSON.stringify(size)}`);
    out.size = n;
  }
  const etag = pick(item, 'Etag', 'ETag', 'etag');
  if (typeof etag === 'string') out.etag = etag;
  const versionId = pick(item, 'VersionId', 'versionId');
  if (typeof versionId === 'string') out.versionId = versionId;
  const modified = pick(item, 'LastModified', 'LastModifiedDate', 'lastModified');
  const date = typeof modified === 'number' ? new Date(modified * 1000) : typeof modified === 'string' ? new Date(modified) : undefined;
  if (date !== undefined && !Number.isNaN(date.getTime())) out.lastModified = date.toISOString();
  return out;
}

/**
 * S3 Inventory URL-encodes the keys in its CSV files (form encoding: a space is `+`, a `+` is `%2B`).
 * ListObjectsV2, JSONL and CSV manifests give keys as they are.
 */
export function decodeInventoryKey(key: string): string {
  try {
    return decodeURIComponent(key.replace(/\+/g, ' '));
  } catch {
    throw new InvalidInputError(`inventory key ${JSON.stringify(key)} is not validly URL-encoded`);
  }
}
