// The failure policy and the failure document (README "Failures and resuming").
//
// Terminal failures are those after which the upload can never be committed as asked: the state machine
// aborts the Box session (AbortSession) and fails. Every other failure (429, 5xx, network, timeouts, a
// Lambda that died, auth trouble, PartsIncomplete, CommitGaveUp, States.Runtime, anything unclassified)
// keeps the session, and the execution fails with a document that says how to resume it.
//
// Keeping a session is safe: Box deletes an upload session and its parts by itself at
// `session_expires_at` (7 days after it was created); until a commit there is no file, no version and
// no name reserved in the folder, so nobody sees anything of it; what it costs is the stored parts
// (at most the file's size) for at most those 7 days. Abandoned sessions are what Box's own SDK leaves
// behind on every failure. Throwing the parts away instead would turn a 20-minute outage at part 6,000
// into sending 6,000 parts again.
import type { FailureDocument, ResumeRef, TransferContext, TransferInput } from './contract.ts';
import { isRecord } from './json.ts';

/**
 * Errors after which the session is aborted. `statemachine/transfer.asl.yml` catches exactly these
 * names into AbortSession (test/statemachine checks that both lists agree).
 */
export const TERMINAL_ERRORS = [
  // The object is not the one the parts were read from, or it is gone (a pinned version deleted).
  'Transfer.SourceChanged',
  'Transfer.SourceNotFound',
  // Box refused the whole-file digest, or holds a part that is not ours: the session can never commit.
  'Box.DigestMismatch',
  'Box.IntegrityError',
  // The session is gone (410 session_expired / upload_failed).
  'Box.SessionExpired',
  // The name was taken under onConflict 'fail', or while the parts uploaded.
  'Transfer.NameConflict',
  // source.onlyIfCurrent: a newer write of the key exists; its own transfer brings it to Box.
  'Transfer.Superseded',
  'Transfer.InvalidInput',
  // 403/404 on the folder, the file or the session (no access, over a size or storage limit, not found).
  'Box.Forbidden',
  'Box.NotFound',
] as const;

const TERMINAL = new Set<string>(TERMINAL_ERRORS);

export function isTerminalError(name: string): boolean {
  return TERMINAL.has(name);
}

/** Longest error message kept in a failure document (a Fail state's Cause holds at most 32,768 characters). */
export const MAX_FAILURE_MESSAGE_LENGTH = 4000;

/** What DescribeFailure receives: the execution's input and the state document at the failure. */
export interface DescribeFailureEvent {
  executionId?: string;
  /** `$$.Execution.Input`: the input as the caller gave it. */
  input: unknown;
  /** `$`: the state document, with the caught error at `error` (`{ Error, Cause }`). */
  state: {
    error?: { Error?: unknown; Cause?: unknown };
    transfer?: TransferContext;
    [key: string]: unknown;
  };
}

export interface DescribeFailureResult {
  /** The original error's name (what the Fail state reports as Error). */
  error: string;
  /** The failure document as JSON (what the Fail state reports as Cause). */
  cause: string;
  resumable: boolean;
}

/**
 * The message of a caught error. In AWS a Lambda error's Cause is the runtime's JSON
 * (`{"errorType","errorMessage","trace"}`); Step Functions' own errors and the local runner give text.
 */
export function errorMessageOf(cause: unknown): string {
  if (typeof cause !== 'string') return cause === undefined || cause === null ? '' : JSON.stringify(cause);
  const text = cause.trim();
  if (text.startsWith('{')) {
    try {
      const parsed = JSON.parse(text) as Record<string, unknown>;
      if (typeof parsed['errorMessage'] === 'string') return parsed['errorMessage'];
    } catch {
      // Not JSON after all: the text is the message.
    }
  }
  return cause;
}

function clip(text: string): string {
  return text.length <= MAX_FAILURE_MESSAGE_LENGTH ? text : `${text.slice(0, MAX_FAILURE_MESSAGE_LENGTH - 1)}…`;
}

/** What a resumed run needs to continue the session of `transfer`: its id and what the run pinned and resolved. */
export function resumeRefOf(transfer: TransferContext): ResumeRef | undefined {
  const session = transfer.session;
  if (session === undefined) return undefined;
  const { source, destination } = transfer;
  return {
    sessionId: session.id,
    ...(source.versionId !== undefined ? { versionId: source.versionId } : {}),
    etag: source.etag,
    fileName: destination.fileName,
    ...(destination.fileId !== undefined ? { fileId: destination.fileId } : {}),
  };
}

/** The session a failed execution leaves open: Prepare's, or the one the input asked to resume. */
function openSession(event: DescribeFailureEvent): ResumeRef | undefined {
  const transfer = event.state.transfer;
  if (isRecord(transfer) && isRecord(transfer.session)) return resumeRefOf(transfer);
  const resume = isRecord(event.input) ? event.input['resume'] : undefined;
  if (isRecord(resume) && typeof resume['sessionId'] === 'string') return resume as unknown as ResumeRef;
  return undefined;
}

/** The failure document of a failed execution. */
export function failureDocument(event: DescribeFailureEvent): FailureDocument {
  const caught = isRecord(event.state?.error) ? event.state.error : {};
  const name = typeof caught.Error === 'string' && caught.Error !== '' ? caught.Error : 'States.Runtime';
  const error = { name, message: clip(errorMessageOf(caught.Cause)) };
  const open = isTerminalError(name) ? undefined : openSession(event);
  if (open === undefined || !isRecord(event.input)) return { error, resumable: false };
  // A resume refused only because the session may expire first (a guess at the rate): the session is
  // kept, and its resumeInput tries anyway (the message says so, and how to discard it instead).
  const session = name === 'Transfer.SessionExpiring' ? { ...open, ignoreExpiry: true } : open;
  // Resumed by a user, the transfer is no longer a nested one: its parent's field is left out.
  const { AWS_STEP_FUNCTIONS_STARTED_BY_EXECUTION_ID: _parent, ...input } = event.input as unknown as TransferInput;
  const resumeInput = { ...input, resume: session };
  return { error, resumable: true, resumeInput };
}

export function describeFailure(event: DescribeFailureEvent): DescribeFailureResult {
  const document = failureDocument(event);
  return { error: document.error.name, cause: JSON.stringify(document), resumable: document.resumable };
}

/** The failure document in an execution's Cause, if it holds one (a Cause from before DescribeFailure ran does not). */
export function parseFailureCause(cause: unknown): FailureDocument | undefined {
  if (typeof cause !== 'string' || !cause.trimStart().startsWith('{')) return undefined;
  try {
    const parsed: unknown = JSON.parse(cause);
    if (!isRecord(parsed) || !isRecord(parsed['error']) || typeof parsed['resumable'] !== 'boolean') return undefined;
    const error = parsed['error'];
    if (typeof error['name'] !== 'string' || typeof error['message'] !== 'string') return undefined;
    if (parsed['resumable'] && !isRecord(parsed['resumeInput'])) return undefined;
    return parsed as unknown as FailureDocument;
  } catch {
    return undefined;
  }
}
