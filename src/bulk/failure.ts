// Failure documents (README "Failures and resuming") for objects of a bulk run.
import type { FailureDocument } from './contract.ts';

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
  const described = parseJson(error.Cause) as { Error?: unknown; Cause?: unknown } | undefined;
  if (typeof described?.Error === 'string') {
    name = described.Error;
    message = typeof described.Cause === 'string' ? described.Cause : '';
  }
  const document = asFailureDocument(parseJson(message));
  if (document !== undefined) return document;
  return { error: { name, message }, resumable: false };
}
