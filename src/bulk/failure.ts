// Failure documents (README "Failures and resuming") for objects of a bulk run, and the one-object
// transfer input that copies a failed object alone.
import type { TransferInput } from '../transfer/contract.ts';
import type { FailureDocument, SyncBatchInput } from './contract.ts';
import { isFolderMarker, placementOf } from './layout.ts';

/** Errors a later try may not meet: the object was handed to the transfer state machine (which retries them). */
export const TRANSIENT_ERRORS = new Set(['Box.RateLimited', 'Box.ServerError', 'Box.NetworkError', 'Transfer.S3Throttled', 'Sandbox.Timedout', 'States.Timeout']);

/** A failure inside a batch (before any session exists): nothing to resume. */
export function failureOf(err: unknown): FailureDocument {
  const name = err instanceof Error ? err.name : 'Error';
  const message = err instanceof Error ? err.message : String(err);
  return { error: { name, message }, resumable: false };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function asFailureDocument(value: unknown): FailureDocument | undefined {
  const v = value as Partial<FailureDocument> | undefined;
  if (typeof v?.error?.name === 'string' && typeof v.error.message === 'string') {
    const resumable = v.resumable === true && v.resumeInput !== undefined;
    return { error: { name: v.error.name, message: v.error.message }, resumable, ...(resumable ? { resumeInput: v.resumeInput } : {}) };
  }
  return undefined;
}

/**
 * The failure document of a nested transfer execution, from the Error and Cause its `startExecution.sync`
 * Task failed with. Step Functions reports a failed child as `States.TaskFailed` with the child's
 * DescribeExecution as the Cause (its own Error and Cause inside); the child's Cause may itself be a
 * failure document. Each layer is read when it is there, so any of these shapes gives the child's error.
 */
export function nestedFailure(error: { Error: string; Cause: string }): FailureDocument {
  let name = error.Error;
  let message = error.Cause;
  // DescribeExecution's fields, as the .sync:2 integration spells them (Error, Cause) or as the API does (error, cause).
  const described = parseJson(error.Cause) as { Error?: unknown; Cause?: unknown; error?: unknown; cause?: unknown } | undefined;
  const describedError = described?.Error ?? described?.error;
  if (typeof describedError === 'string') {
    name = describedError;
    const describedCause = described?.Cause ?? described?.cause;
    message = typeof describedCause === 'string' ? describedCause : '';
  }
  const document = asFailureDocument(parseJson(message));
  if (document !== undefined) return document;
  return { error: { name, message }, resumable: false };
}

/**
 * The one-object transfer input that copies `key` where the run would have put it (its mirrored folders
 * as destination.folderPath), or undefined for a key that is no object to copy.
 */
export function oneObjectInput(run: Pick<SyncBatchInput, 'sourceBucket' | 'folderId' | 'basePrefix' | 'layout' | 'onConflict'>, key: string, versionId?: string): TransferInput | undefined {
  if (key === '' || isFolderMarker(key) || !key.startsWith(run.basePrefix)) return undefined;
  const placement = placementOf(key, run.basePrefix, run.layout);
  return {
    source: { bucket: run.sourceBucket, key, ...(versionId !== undefined ? { versionId } : {}) },
    destination: { folderId: run.folderId, ...(placement.folders.length > 0 ? { folderPath: placement.folders.join('/') } : {}), fileName: placement.fileName },
    onConflict: run.onConflict,
  };
}
