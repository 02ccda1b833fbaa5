// The source identity recorded on a Box file when a bulk run uploads it: Box metadata `global.properties`
// (free-form string values every enterprise has) with the bucket, key, ETag, VersionId, size and the
// SHA-1 uploaded. A later run that lists the folder with `fields=metadata.global.properties` compares it
// with the S3 listing without reading a byte of the object.
import type { SourceIdentity } from './contract.ts';

/** The global.properties keys (Box metadata keys: letters and digits). */
const KEYS = { bucket: 's3Bucket', key: 's3Key', etag: 's3ETag', versionId: 's3VersionId', size: 's3Size', sha1: 'sha1' } as const;

/** ETags as S3 sends them are quoted; compare them without the quotes. */
export function normalizeEtag(etag: string): string {
  return etag.replace(/^W\//, '').replace(/^"|"$/g, '');
}

export function identityProperties(identity: SourceIdentity): Record<string, string> {
  const out: Record<string, string> = {
    [KEYS.bucket]: identity.bucket,
    [KEYS.key]: identity.key,
    [KEYS.etag]: normalizeEtag(identity.etag),
    [KEYS.size]: String(identity.size),
  };
  if (identity.versionId !== undefined) out[KEYS.versionId] = identity.versionId;
  if (identity.sha1 !== undefined) out[KEYS.sha1] = identity.sha1.toLowerCase();
  return out;
}

export function identityFromProperties(props: unknown): SourceIdentity | undefined {
  if (typeof props !== 'object' || props === null) return undefined;
  const p = props as Record<string, unknown>;
  const bucket = p[KEYS.bucket];
  const key = p[KEYS.key];
  const etag = p[KEYS.etag];
  const size = Number(p[KEYS.size]);
  if (typeof bucket !== 'string' || typeof key !== 'string' || typeof etag !== 'string' || !Number.isSafeInteger(size)) return undefined;
  const identity: SourceIdentity = { bucket, key, etag, size };
  if (typeof p[KEYS.versionId] === 'string') identity.versionId = p[KEYS.versionId] as string;
  if (typeof p[KEYS.sha1] === 'string') identity.sha1 = (p[KEYS.sha1] as string).toLowerCase();
  return identity;
}

/**
 * True when the recorded identity says the Box file holds this very S3 object: same bucket, key, ETag
 * (and VersionId when both know one) and size, and Box's current SHA-1 is still the one uploaded
 * (a version added in Box since then no longer matches).
 */
export function sameSource(
  recorded: SourceIdentity | undefined,
  current: { bucket: string; key: string; etag?: string | undefined; versionId?: string | undefined; size: number },
  boxSha1: string | undefined,
): boolean {
  if (recorded === undefined || current.etag === undefined) return false;
  if (recorded.bucket !== current.bucket || recorded.key !== current.key || recorded.size !== current.size) return false;
  if (normalizeEtag(recorded.etag) !== normalizeEtag(current.etag)) return false;
  if (recorded.versionId !== undefined && current.versionId !== undefined && recorded.versionId !== current.versionId) return false;
  return recorded.sha1 !== undefined && boxSha1 !== undefined && recorded.sha1 === boxSha1.toLowerCase();
}
