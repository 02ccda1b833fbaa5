// Newest write wins (source.onlyIfCurrent, set by the triggers): just before a transfer makes its bytes
// Box's current version (right before each commit request Box has not accepted yet, after the parts were
// listed; before the direct upload), it asks S3 whether the version it copies is still the key's current
// one. If a newer write exists, this transfer fails with Transfer.Superseded (the session is aborted): the
// newer write's own event started a transfer that will commit after this check. So whichever order the
// executions finish in, Box ends at S3's newest.
//
// The race accepted: between this check and Box accepting the commit (the commit request itself: well
// under a second, but up to the client's 429 retries with their Retry-After waits when Box throttles) a
// newer write's whole transfer would have to start, upload and commit; only then could the older commit
// land last. A deleted key (no current version) does not stop the transfer.
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import type { SourceObject } from './contract.ts';
import { SupersededError } from './errors.ts';
import type { Logger } from './logger.ts';
import { withinRequestBudget } from './request-budget.ts';
import { describeSource, mapS3Error } from './s3source.ts';

const GONE = new Set(['NoSuchKey', 'NotFound']);

/** Throws Transfer.Superseded when `source` (as Prepare pinned it) is no longer the key's current version. */
export async function checkStillCurrent(s3: S3Client, source: SourceObject, logger: Logger): Promise<void> {
  const where = { bucket: source.bucket, key: source.key, versionId: source.versionId };
  let head;
  try {
    head = await withinRequestBudget(`HeadObject ${describeSource(where)} (newest-write check)`, undefined, (signal) =>
      s3.send(new HeadObjectCommand({ Bucket: source.bucket, Key: source.key }), { abortSignal: signal }),
    );
  } catch (err) {
    const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
    if (GONE.has(e?.name ?? '') || e?.$metadata?.httpStatusCode === 404) {
      logger.info('source key deleted since the transfer started; carrying on', where);
      return;
    }
    throw mapS3Error(err, source, false);
  }
  // Versioned buckets: the version id says it; unversioned ("null" or none): a new write has a new ETag.
  const versioned = source.versionId !== undefined && source.versionId !== 'null';
  const current = versioned ? head.VersionId : head.ETag;
  const ours = versioned ? source.versionId : source.etag;
  if (current === undefined || current === ours) return;
  logger.info('a newer version of the source exists; this transfer stops', { ...where, currentVersionId: head.VersionId, currentEtag: head.ETag });
  throw new SupersededError(
    `${describeSource(source)} is no longer the key's current version (now ${versioned ? `version ${current}` : `ETag ${current}`}): the transfer of the newer write brings it to Box`,
  );
}
