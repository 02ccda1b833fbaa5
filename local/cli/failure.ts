// How the CLI reports a transfer that did not finish: the exit status (README "The command line"),
// the failure document for --json, and, without --json, how to resume or discard the kept session.
import type { FailureDocument, ResumeRef, TransferInput } from '../../src/transfer/contract.ts';
import { TransferAbortedError, TransferExecutionError } from '../runner/execution.ts';
import { EXIT_STATUS, exitStatusForError } from './exit-status.ts';


/** A run stopped by the user (Ctrl-C, SIGTERM): the session is kept (unlike StopExecution in AWS), and the failure document says what resumes it. */
export class TransferStoppedError extends Error {
  override name = 'Transfer.Stopped';
  readonly failure: FailureDocument;
  constructor(input: TransferInput, resume: ResumeRef | undefined) {
    const message =
      resume === undefined ? 'Stopped by the user before an upload session existed' : `Stopped by the user; the Box upload session ${resume.sessionId} is kept`;
    super(message);
    this.failure =
      resume === undefined
        ? { error: { name: this.name, message }, resumable: false }
        : { error: { name: this.name, message }, resumable: true, resumeInput: { ...input, resume } };
  }
}

/** The failure document of anything a transfer run threw. */
export function failureOf(err: unknown): FailureDocument {
  if (err instanceof TransferExecutionError || err instanceof TransferStoppedError) {
    if (err.failure !== undefined) return err.failure;
  }
  if (err instanceof TransferAbortedError) return { error: { name: 'Transfer.Stopped', message: err.message }, resumable: false };
  if (err instanceof Error) return { error: { name: err.name, message: err.message }, resumable: false };
  return { error: { name: 'Error', message: String(err) }, resumable: false };
}

/** 3 when the session is kept for a resume, 2 for bad input (exit-status.ts INPUT_ERROR_NAMES), else 1. */
export function exitStatusFor(failure: FailureDocument): number {
  if (failure.resumable) return EXIT_STATUS.resumable;
  return exitStatusForError(failure.error.name);
}

/** A word as a POSIX shell reads it: unquoted when safe, else in single quotes. */
function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * What to type to resume and to discard the kept session (stderr, without --json). `resumeArgs` are the
 * command's arguments that rebuild the input (never credentials); undefined when the input came whole
 * from --resume-input, so the resume input itself is printed to feed back in.
 */
export function resumeHint(failure: FailureDocument, resumeArgs: string[] | undefined): string {
  const input = failure.resumeInput;
  if (!failure.resumable || input === undefined) return '';
  const id = input.resume.sessionId;
  const resume =
    resumeArgs === undefined
      ? `echo ${shellQuote(JSON.stringify(input))} | s3-to-box transfer --resume-input -`
      : ['s3-to-box', 'transfer', ...resumeArgs, '--resume', id].map(shellQuote).join(' ');
  return (
    `The Box upload session ${id} is kept with the parts stored so far (Box deletes it by itself 7 days after it was created).\n` +
    `  resume:  ${resume}\n` +
    `           (or \`s3-to-box transfer --resume-input FILE\` with the resumeInput that --json prints)\n` +
    `  discard: s3-to-box abort ${id}\n` +
    `(with the same Box credentials and options)\n`
  );
}
