// SyncBatch: one child workflow's batch of listed objects. For each object: its Box folder (created on
// demand), the skip rule against the folder's listing, then either a direct upload right here (objects
// below 20,000,000 bytes: one Lambda invocation settles many small objects, saving a child execution
// each) or a hand-over to a nested execution of the transfer state machine (chunked objects, and any
// object this invocation cannot finish: rate limited past the client's retries, a transient error, or
// too little time left). Nothing is thrown for one object: its failure is its result.
import { createHash } from 'node:crypto';
import type { LambdaContextLike, SourceObject, TransferContext, TransferInput } from '../transfer/contract.ts';
import { checkSourceAllowed } from '../transfer/allowed.ts';
import type { TransferDeps } from '../transfer/deps.ts';
import { directUpload } from '../transfer/direct.ts';
import { InvalidInputError } from '../transfer/errors.ts';
import { base64ToHex } from '../box/helpers.ts';
import { openObjectStream, pinSource } from '../transfer/s3source.ts';
import { asBulkBox } from './boxPort.ts';
import type { BulkBoxLike } from './boxPort.ts';
import type { NestedTransfer, ObjectResult, SourceIdentity, SyncBatchEvent, SyncBatchInput, SyncBatchResult } from './contract.ts';
import { failureOf, oneObjectInput, TRANSIENT_ERRORS } from './failure.ts';
import { FolderTree } from './folders.ts';
import type { BoxEntry } from './folders.ts';
import { identityProperties, normalizeEtag, sameSource } from './identity.ts';
import { decodeInventoryKey, normalizeItem } from './items.ts';
import type { ListedObject } from './items.ts';
import { isFolderMarker, placementOf } from './layout.ts';
import { boxNameForSegment } from '../box/names.ts';
import { UploadPacer } from './pacer.ts';
import { nestedTransferName } from './nested.ts';
import { readSmallObject } from './smallRead.ts';

/** Objects not yet started when fewer ms than this remain go to the transfer state machine instead. */
const BATCH_DEADLINE_MARGIN_MS = 60_000;

/** What the skip rule decided, and from what. */
export type SkipDecision = { skip: true; reason: string } | { skip: false; reason: string };

export interface SkipProbe {
  /** HeadObject (ChecksumMode ENABLED): size, ETag, VersionId, S3's full-object SHA-1 if any. No bytes. */
  head(): Promise<SourceObject>;
  /** Hex SHA-1 of the object's bytes: reads the whole object (the last resort). */
  hash(): Promise<string>;
}

/**
 * The skip rule for one object against the Box entry holding its name. `same-content`: sizes first; then
 * the source identity recorded on the Box file at upload (free: it came with the folder listing); then
 * S3's full-object SHA-1 against Box's SHA-1 (a HEAD, no bytes); only then a hash of the object.
 */
export async function decideSkip(
  rule: SyncBatchInput['skip'],
  object: ListedObject & { bucket: string },
  entry: BoxEntry | undefined,
  probe: SkipProbe,
): Promise<SkipDecision> {
  if (rule === 'none') return { skip: false, reason: 'skip-none' };
  if (entry === undefined) return { skip: false, reason: 'new' };
  if (entry.type !== 'file') return { skip: false, reason: `name-held-by-${entry.type}` };
  if (rule === 'same-name') return { skip: true, reason: 'same-name' };
  let size = object.size;
  let head: SourceObject | undefined;
  if (size === undefined) {
    head = await probe.head();
    size = head.size;
  }
  if (entry.size !== undefined && entry.size !== size) return { skip: false, reason: 'size-differs' };
  const current = { bucket: object.bucket, key: object.key, etag: object.etag ?? head?.etag, versionId: object.versionId ?? head?.versionId, size };
  if (sameSource(entry.identity, current, entry.sha1)) return { skip: true, reason: 'same-source' };
  if (entry.sha1 === undefined) return { skip: false, reason: 'box-sha1-unknown' };
  head ??= await probe.head();
  if (entry.size === undefined && head.size !== size) return { skip: false, reason: 'size-differs' };
  if (head.sha1 !== undefined) return base64ToHex(head.sha1) === entry.sha1 ? { skip: true, reason: 'same-sha1' } : { skip: false, reason: 'sha1-differs' };
  return (await probe.hash()) === entry.sha1 ? { skip: true, reason: 'same-hash' } : { skip: false, reason: 'content-differs' };
}

export interface SyncBatchStats {
  /** Upload requests taken from the pacer (direct uploads and hand-overs). */
  uploads: number;
  /** Objects read whole to hash them. */
  hashed: number;
}

export async function syncBatch(event: SyncBatchEvent, deps: TransferDeps, context?: LambdaContextLike): Promise<SyncBatchResult> {
  const b = event.BatchInput.run;
  const box = asBulkBox(await deps.box());
  const tree = new FolderTree({ box, runId: b.runId, rootId: b.folderId, readOnly: b.dryRun });
  const pacer = new UploadPacer(b.uploadsPerMinute);
  const results: Array<ObjectResult | undefined> = new Array(event.Items.length);
  const transfers: NestedTransfer[] = [];
  const log = deps.logger.child({ runId: b.runId });
  let next = 0;

  const one = async (index: number): Promise<void> => {
    const item = event.Items[index] ?? {};
    let key = typeof item['Key'] === 'string' ? item['Key'] : typeof item['key'] === 'string' ? item['key'] : '';
    let path = '';
    let bytes = 0;
    try {
      const listed = normalizeItem(item);
      if (b.reader === 'inventory') listed.key = decodeInventoryKey(listed.key);
      key = listed.key;
      bytes = listed.size ?? 0;
      if (listed.bucket !== undefined && listed.bucket !== b.sourceBucket) {
        throw new InvalidInputError(`manifest item ${JSON.stringify(key)} names bucket ${listed.bucket}, not the run's source bucket ${b.sourceBucket}`);
      }
      // A manifest may list keys outside the allowed prefixes: refused here, before any read.
      checkSourceAllowed(deps.settings.allowedSources, b.sourceBucket, key);
      // An inventory of all versions also lists older versions and delete markers: only current objects are copied.
      const notCurrent = notCurrentReason(item);
      if (notCurrent !== undefined) {
        results[index] = { key, outcome: b.dryRun ? 'would-skip' : 'skipped', bytes, path: '', reason: notCurrent };
        return;
      }
      results[index] = await syncObject({ ...listed, bucket: b.sourceBucket }, (p) => (path = p));
    } catch (err) {
      log.warn('object failed', { key, error: { name: (err as Error).name, message: (err as Error).message } });
      let input: TransferInput | undefined;
      try {
        input = oneObjectInput(b, key, typeof item['VersionId'] === 'string' && item['VersionId'] !== '' ? item['VersionId'] : typeof item['versionId'] === 'string' ? item['versionId'] : undefined);
      } catch {
        input = undefined; // a key that has no place (outside the prefix): nothing to copy alone
      }
      results[index] = { key, outcome: 'failed', bytes, path, failure: failureOf(err), ...(input !== undefined ? { input } : {}) };
    }
  };

  const syncObject = async (object: ListedObject & { bucket: string }, setPath: (p: string) => void): Promise<ObjectResult | undefined> => {
    const { key } = object;
    if (isFolderMarker(key)) {
      // A folder marker copies nothing; in the mirror layout its (maybe empty) folder is created.
      const folders = b.layout === 'mirror' && key.startsWith(b.basePrefix) ? key.slice(b.basePrefix.length).split('/').slice(0, -1) : [];
      const mapped = folders.map(boxNameForSegment);
      setPath(mapped.join('/'));
      if (mapped.length > 0) await tree.folderId(mapped);
      return { key, outcome: b.dryRun ? 'would-skip' : 'skipped', bytes: object.size ?? 0, path: mapped.join('/'), reason: 'folder-marker' };
    }
    const placement = placementOf(key, b.basePrefix, b.layout);
    const path = [...placement.folders, placement.fileName].join('/');
    setPath(path);
    const folderId = await tree.folderId(placement.folders);
    const entry = folderId === undefined ? undefined : (await tree.entries(folderId)).get(placement.fileName.toLowerCase());
    let pinned: SourceObject | undefined;
    const head = async (): Promise<SourceObject> => (pinned ??= await pinSource(deps.s3, object));
    const decision = await decideSkip(b.skip, object, entry, {
      head,
      hash: async () => {
        stats.hashed++;
        const hash = createHash('sha1');
        for await (const chunk of await openObjectStream(deps.s3, await head())) hash.update(chunk as Buffer);
        return hash.digest('hex');
      },
    });
    const size = object.size ?? pinned?.size ?? 0;
    if (decision.skip) {
      // A match found by hashing is recorded, so the next run decides from the listing alone.
      if (decision.reason === 'same-hash' || decision.reason === 'same-sha1') {
        if (!b.dryRun && entry !== undefined && pinned !== undefined) await recordIdentity(box, entry.id, identityOf(pinned, entry.sha1));
      }
      return { key, outcome: b.dryRun ? 'would-skip' : 'skipped', bytes: size, path, fileId: entry?.id, sha1: entry?.sha1, reason: decision.reason };
    }
    if (b.dryRun) return { key, outcome: 'would-copy', bytes: size, path, reason: decision.reason };
    const input: TransferInput = {
      source: { bucket: object.bucket, key, ...(object.versionId !== undefined ? { versionId: object.versionId } : {}) },
      destination: { folderId: folderId as string, fileName: placement.fileName },
      onConflict: b.onConflict,
      ...(b.concurrency !== undefined ? { options: { concurrency: b.concurrency } } : {}),
    };
    const handOver = (why: string): ObjectResult | undefined => {
      transfers.push({ key, path, bytes: size, input, name: nestedTransferName(b.runId, key), identity: { bucket: object.bucket, key, etag: pinned?.etag ?? object.etag ?? '', size, ...(pinned?.versionId !== undefined ? { versionId: pinned.versionId } : {}) } });
      log.debug('object handed to the transfer state machine', { key, why });
      return undefined;
    };
    if (size >= deps.settings.directUploadMax || outOfTime()) {
      await pacer.take();
      stats.uploads++;
      return handOver(size >= deps.settings.directUploadMax ? 'chunked' : 'deadline');
    }
    await pacer.take();
    stats.uploads++;
    try {
      // The listing pins the object already (ETag, size): the read is If-Match that ETag, so no HEAD is
      // needed; a manifest without them is looked up first.
      const source = pinned ?? listedSource(object) ?? (await head());
      const transfer: TransferContext = {
        source,
        destination: { folderId: folderId as string, fileName: placement.fileName, fileNameGiven: true },
        onConflict: b.onConflict,
        mode: 'direct',
        partsPerBatch: 0,
        partsInFlight: 1,
        mapConcurrency: 1,
      };
      if (source.size >= deps.settings.directUploadMax) return handOver('grew');
      const output = await directUpload(transfer, deps, { readWhole: (s) => readSmallObject(deps.s3, s) });
      await recordIdentityLater(output.file.id, identityOf(source, output.file.sha1));
      return { key, outcome: 'copied', bytes: output.bytes, path, fileId: output.file.id, sha1: output.file.sha1 };
    } catch (err) {
      const name = (err as Error).name;
      if (name === 'Box.RateLimited') pacer.rateLimited();
      if (TRANSIENT_ERRORS.has(name)) return handOver(name);
      // Cut by the invocation's request budget (src/box/budget.ts): Box may hold the upload although its
      // answer was lost; the nested transfer finds it (src/transfer/direct.ts) or uploads it.
      if (name === 'Box.Aborted' || name === 'Transfer.Deadline') return handOver('deadline');
      throw err;
    }
  };

  const stats: SyncBatchStats = { uploads: 0, hashed: 0 };
  const outOfTime = (): boolean => context !== undefined && context.getRemainingTimeInMillis() < BATCH_DEADLINE_MARGIN_MS;
  const recordIdentity = async (client: BulkBoxLike, fileId: string, identity: SourceIdentity): Promise<void> => {
    try {
      await client.metadata.setGlobalProperties(fileId, identityProperties(identity));
    } catch (err) {
      // The file is in Box; without the record a later run compares by S3's SHA-1 or by hashing.
      log.warn('source identity not recorded on the Box file', { fileId, error: { name: (err as Error).name, message: (err as Error).message } });
    }
  };

  // A copied object's source identity is recorded while the next object is already under way: the record
  // (one metadata request) is off the object's path. At most objectsInFlight records wait at once, and the
  // batch ends only when every record has settled (a failed one is only logged, as above).
  const records = new Set<Promise<void>>();
  const recordIdentityLater = async (fileId: string, identity: SourceIdentity): Promise<void> => {
    while (records.size >= b.objectsInFlight) await Promise.race(records);
    const record: Promise<void> = recordIdentity(box, fileId, identity).finally(() => records.delete(record));
    records.add(record);
  };

  const workers = Array.from({ length: Math.max(1, Math.min(b.objectsInFlight, event.Items.length)) }, async () => {
    while (next < event.Items.length) await one(next++);
  });
  await Promise.all(workers);
  while (records.size > 0) await Promise.all(records);
  // Hold the Map's slot until this child's last upload slot has passed (./pacer.ts), within the deadline.
  await pacer.drain(context === undefined ? undefined : context.getRemainingTimeInMillis() - BATCH_DEADLINE_MARGIN_MS);
  const settled = results.filter((r): r is ObjectResult => r !== undefined);
  log.info('batch done', { objects: event.Items.length, settled: settled.length, handedOver: transfers.length, uploads: stats.uploads, hashed: stats.hashed });
  return { results: settled, transfers };
}

/** S3 Inventory rows (IsLatest, IsDeleteMarker: "true"/"false") of a version that is not the key's current object. */
function notCurrentReason(item: Record<string, unknown>): string | undefined {
  if (String(item['IsDeleteMarker']).toLowerCase() === 'true') return 'delete-marker';
  if (String(item['IsLatest']).toLowerCase() === 'false') return 'not-latest-version';
  return undefined;
}

function identityOf(source: SourceObject, sha1Hex: string | undefined): SourceIdentity {
  return {
    bucket: source.bucket,
    key: source.key,
    etag: normalizeEtag(source.etag),
    size: source.size,
    ...(source.versionId !== undefined ? { versionId: source.versionId } : {}),
    ...(sha1Hex !== undefined ? { sha1: sha1Hex.toLowerCase() } : {}),
  };
}

/** The object as the listing describes it, when it says enough to pin the read (ETag, size). */
function listedSource(object: ListedObject & { bucket: string }): SourceObject | undefined {
  if (object.etag === undefined || object.size === undefined) return undefined;
  return {
    bucket: object.bucket,
    key: object.key,
    etag: object.etag,
    size: object.size,
    lastModified: object.lastModified ?? new Date().toISOString(),
    ...(object.versionId !== undefined ? { versionId: object.versionId } : {}),
  };
}
