// What a deployment lets transfers read and write: the sources (sourceBuckets: buckets and key
// prefixes), the destination folders (destinationFolders: each with its subfolders) and the largest
// object (maxFileSize). Prepare applies them to every execution, whatever started it, besides IAM.
// The entry syntax is parsed by iam/source-grants.cjs, which also turns it into the IAM grant at package time.
import sourceGrants from '../../iam/source-grants.cjs';
import type { BoxClientLike } from './boxPort.ts';
import {
  ConfigurationError,
  DestinationNotAllowedError,
  DestinationNotFoundError,
  SourceNotAllowedError,
  SourceTooLargeError,
} from './errors.ts';

/** One allowed source: every key of `bucket` that starts with `prefix` ('' for the whole bucket). */
export interface SourceRule {
  bucket: string;
  prefix: string;
}

/**
 * Parses `bucket` / `bucket/prefix` entries, comma-separated, with the parser that makes the IAM grant at
 * package time (one syntax, one implementation); throws Transfer.ConfigurationError saying what to fix.
 */
export function parseSourceRules(text: string): SourceRule[] {
  try {
    return sourceGrants.parseSourceBuckets(text);
  } catch (err) {
    throw new ConfigurationError(err instanceof Error ? err.message : String(err));
  }
}

/** Parses comma-separated Box folder ids; '' means no restriction (undefined). */
export function parseFolderIds(text: string): string[] | undefined {
  const ids = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  if (ids.length === 0) return undefined;
  const bad = ids.find((id) => !/^[0-9]+$/.test(id));
  if (bad !== undefined) throw new ConfigurationError(`destinationFolders entry ${JSON.stringify(bad)} is not a Box folder id (digits only)`);
  return ids;
}

/** Throws Transfer.SourceNotAllowed unless some rule covers s3://bucket/key (no rules: everything is allowed). */
export function checkSourceAllowed(rules: readonly SourceRule[] | undefined, bucket: string, key: string): void {
  if (rules === undefined) return;
  if (rules.some((r) => r.bucket === bucket && key.startsWith(r.prefix))) return;
  const allowed = rules.map((r) => `${r.bucket}/${r.prefix}`).join(', ');
  throw new SourceNotAllowedError(
    `s3://${bucket}/${key} is not an allowed source of this deployment (allowed: ${allowed}); use one of those, or redeploy with it in sourceBuckets`,
  );
}

/**
 * Before a bulk run lists anything: with a prefix, every key it can list must be allowed (the prefix starts
 * with an allowed prefix of that bucket); with a manifest (prefix undefined), the bucket must be allowed at
 * all, and each listed key is checked again before it is read. Throws Transfer.SourceNotAllowed.
 */
export function checkSourceListingAllowed(rules: readonly SourceRule[] | undefined, bucket: string, prefix: string | undefined): void {
  if (rules === undefined) return;
  if (rules.some((r) => r.bucket === bucket && (prefix === undefined || prefix.startsWith(r.prefix)))) return;
  const allowed = rules.map((r) => `${r.bucket}/${r.prefix}`).join(', ');
  const what = prefix === undefined ? `bucket ${bucket}` : `s3://${bucket}/${prefix} (every key under it)`;
  throw new SourceNotAllowedError(
    `${what} is not an allowed source of this deployment (allowed: ${allowed}); list a prefix inside one of those, or redeploy with it in sourceBuckets`,
  );
}

/** Throws Transfer.SourceTooLarge when `size` is above `maxFileSize`. */
export function checkSourceSize(size: number, maxFileSize: number | undefined, where: string): void {
  if (maxFileSize === undefined || size <= maxFileSize) return;
  throw new SourceTooLargeError(
    `${where} has ${size} bytes, more than this deployment's maximum of ${maxFileSize} (maxFileSize): nothing was sent to Box`,
  );
}

function isNotFound(err: unknown): boolean {
  return err instanceof Error && err.name === 'Box.NotFound';
}

/**
 * Checks that the destination exists and, when allowed folders are set, lies in one of them or below.
 * The ancestors come from Box (the folder's, or the file's, path_collection).
 */
export async function checkDestinationAllowed(
  box: BoxClientLike,
  destination: { folderId: string; fileId?: string | undefined },
  allowedFolders: readonly string[] | undefined,
): Promise<void> {
  let chain: string[];
  let what: string;
  if (destination.fileId !== undefined) {
    what = `Box file ${destination.fileId}`;
    try {
      const file = await box.files.getFile(destination.fileId);
      chain = (file.path_collection?.entries ?? []).map((e) => e.id);
      if (file.parent?.id !== undefined) chain.push(file.parent.id);
    } catch (err) {
      if (isNotFound(err)) throw new DestinationNotFoundError(`${what} (destination.fileId) does not exist, or the Box account cannot see it`, { cause: err });
      throw err;
    }
  } else {
    what = `Box folder ${destination.folderId}`;
    try {
      const folder = await box.folders.getFolder(destination.folderId);
      chain = [...(folder.path_collection?.entries ?? []).map((e) => e.id), folder.id];
    } catch (err) {
      if (isNotFound(err)) {
        throw new DestinationNotFoundError(`${what} (destination.folderId) does not exist, or the Box account cannot see it: check the id, or invite the account to the folder`, { cause: err });
      }
      throw err;
    }
  }
  if (allowedFolders === undefined || chain.some((id) => allowedFolders.includes(id))) return;
  throw new DestinationNotAllowedError(
    `${what} is not in an allowed destination folder of this deployment (allowed: ${allowedFolders.join(', ')}, with their subfolders)`,
  );
}
