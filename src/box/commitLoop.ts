// The one commit policy of an upload session, shared by uploadBigFile (which loops here, waiting in
// process) and the Commit Lambda (one try per invocation; the state machine's Wait state waits):
// - 202: wait Retry-After, but at least `minIntervalMs` (a 202 with Retry-After 0 must not spin);
// - 400 parts_mismatch (Box sometimes does not see every part right after the last one): wait
//   `partsMismatchFirstDelayMs`, doubling up to `partsMismatchMaxDelayMs`, at most
//   `maxPartsMismatches` in a row, then the Box.PartsMismatch is passed on;
// - waits add up to at most `maxWaitMs` (the last one cut at the limit), then Box.CommitTimeout;
// - a try whose answer was lost (no answer, 5xx after the body was sent, a timeout) may have committed:
//   before committing again, and when a repeated commit answers as if the session were gone (404, 410,
//   409 name in use, 400), the caller's `landed` probe looks for the file in Box; found, it is the result.
import type { BoxError } from './errors.ts';
import {
  BoxCommitTimeoutError,
  BoxConflictError,
  BoxInvalidRequestError,
  BoxNetworkError,
  BoxNotFoundError,
  BoxPartsMismatchError,
  BoxServerError,
  BoxSessionExpiredError,
  BoxUnreadableAnswerError,
} from './errors.ts';
import type { LandedLook } from './landed.ts';
import type { BoxFile, CommitResult } from './types.ts';

export interface CommitPolicy {
  /** Shortest wait after a 202 (default 1000 ms). */
  minIntervalMs: number;
  /** First wait after a 400 parts_mismatch (default 2000 ms), doubling each time in a row. */
  partsMismatchFirstDelayMs: number;
  /** Longest wait after a parts_mismatch (default 10,000 ms). */
  partsMismatchMaxDelayMs: number;
  /** Most parts_mismatch answers in a row; one more passes the Box.PartsMismatch on (default 8). */
  maxPartsMismatches: number;
  /** Total of all waits before Box.CommitTimeout (default 900 s). */
  maxWaitMs: number;
  /** Most commit tries before Box.CommitTimeout (default unlimited). */
  maxAttempts: number;
  /** Most tries in a row whose answer was lost, in a loop that waits in process (default 4). */
  maxLostAnswers: number;
  /** Waits are whole multiples of this (1000 for the state machine's Wait state, which takes seconds). */
  granularityMs: number;
}

export const DEFAULT_COMMIT_POLICY: Readonly<CommitPolicy> = Object.freeze({
  minIntervalMs: 1000,
  partsMismatchFirstDelayMs: 2000,
  partsMismatchMaxDelayMs: 10_000,
  maxPartsMismatches: 8,
  maxWaitMs: 900_000,
  maxAttempts: Number.POSITIVE_INFINITY,
  maxLostAnswers: 4,
  granularityMs: 1,
});

/** What earlier tries of one session's commit saw. */
export interface CommitState {
  /** Tries made so far. */
  attempts: number;
  /** Sum of the waits asked for so far. */
  waitedMs: number;
  /** parts_mismatch answers in a row. */
  partsMismatches: number;
  /** Tries in a row whose answer was lost. */
  lostAnswers: number;
  /** An earlier try may have committed although its answer never arrived. */
  answerLost: boolean;
}

export const FIRST_COMMIT: Readonly<CommitState> = Object.freeze({ attempts: 0, waitedMs: 0, partsMismatches: 0, lostAnswers: 0, answerLost: false });

export interface CommitTry {
  sessionId: string;
  /** Sends the commit request once (the caller builds it: parts list, digest, checks just before). */
  send(): Promise<CommitResult>;
  /**
   * The file, if this session's commit has already landed in Box (read from Box, never from an error body).
   * `afterRefusal` is set for the look after a refused repeated commit (see LandedLook).
   */
  landed?: (look: LandedLook) => Promise<BoxFile | undefined>;
  /** Told when the `landed` probe itself failed; the try goes on as if nothing landed. */
  onLandedError?: (error: unknown) => void;
  /**
   * A refusal that cannot have committed and is worth waiting on (the Commit Lambda: a 429, S3 throttling):
   * the wait wanted, in ms. The try then ends as a 'wait' within the policy's bounds instead of throwing.
   */
  waitAfter?: (error: unknown) => number | undefined;
}

export type CommitStep =
  | { status: 'committed'; file: BoxFile; state: CommitState; /** found in Box after a lost answer */ landedEarlier: boolean }
  | { status: 'wait'; waitMs: number; lastAnswer: string; state: CommitState; /** refused by `waitAfter`: nothing was accepted */ refused?: true }
  /** No answer (or a 5xx): the commit may have landed; `state.answerLost` is set for the next try. */
  | { status: 'lost'; error: BoxError; state: CommitState };

/** A commit answer that leaves open whether Box committed: nothing came back, a 5xx, or a success that could not be read. */
export function commitAnswerMayBeLost(error: unknown): error is BoxError {
  return error instanceof BoxNetworkError || error instanceof BoxServerError || error instanceof BoxUnreadableAnswerError;
}

/**
 * What a repeated commit of a session that was already committed may answer (Box's answer is not
 * documented): the session is gone (404, 410), the name is now taken by our own file (409), or it is
 * refused as a bad request (400). A 201 with the file needs no special case.
 */
function mayBeRepeatedCommitAnswer(error: unknown): boolean {
  return (
    error instanceof BoxNotFoundError ||
    error instanceof BoxSessionExpiredError ||
    error instanceof BoxPartsMismatchError ||
    error instanceof BoxInvalidRequestError ||
    (error instanceof BoxConflictError && error.code === 'item_name_in_use')
  );
}

/** The wait before the next try, within the policy's bounds; throws Box.CommitTimeout past them. */
function waitOrGiveUp(sessionId: string, state: CommitState, desiredMs: number, lastAnswer: string, policy: CommitPolicy, cause?: unknown): number {
  const g = Math.max(1, policy.granularityMs);
  const wanted = Math.ceil(desiredMs / g) * g;
  const remaining = Math.floor((policy.maxWaitMs - state.waitedMs) / g) * g;
  // The last wait is cut at the limit so that one more try is made there, unless less than the minimum
  // spacing (or a shorter parts_mismatch delay) is left: then the bound wins.
  if (state.attempts >= policy.maxAttempts || remaining <= 0 || remaining < Math.min(wanted, policy.minIntervalMs)) {
    throw new BoxCommitTimeoutError(
      `commit of session ${sessionId} still not done after ${state.attempts} attempts and ${Math.round(state.waitedMs / 1000)} s of waiting (limits: ${
        Number.isFinite(policy.maxAttempts) ? `${policy.maxAttempts} attempts, ` : ''
      }${Math.round(policy.maxWaitMs / 1000)} s); last answer ${lastAnswer}`,
      { status: cause === undefined ? 202 : 400, cause, request: 'POST commit upload session' },
    );
  }
  return Math.min(wanted, remaining);
}

/** One commit try under `policy`, continuing from `state`. */
export async function commitStep(t: CommitTry, state: CommitState, policy: CommitPolicy = DEFAULT_COMMIT_POLICY): Promise<CommitStep> {
  const tried: CommitState = { ...state, attempts: state.attempts + 1 };
  const landedNow = async (look: LandedLook): Promise<CommitStep | undefined> => {
    if (!state.answerLost || t.landed === undefined) return undefined;
    let file: BoxFile | undefined;
    try {
      file = await t.landed(look);
    } catch (error) {
      // The probe is a look, not the upload: its failure (a listing past the client's retries) must not end
      // the try. Sending the commit again is safe for the same session (a repeated commit's refusal is probed again).
      t.onLandedError?.(error);
      return undefined;
    }
    return file === undefined ? undefined : { status: 'committed', file, state: { ...tried, answerLost: false, lostAnswers: 0 }, landedEarlier: true };
  };
  // An earlier try's answer was lost: it may have committed. Look before sending it again.
  const before = await landedNow({});
  if (before !== undefined) return before;

  let result: CommitResult;
  try {
    result = await t.send();
  } catch (error) {
    if (commitAnswerMayBeLost(error)) {
      return { status: 'lost', error, state: { ...tried, answerLost: true, lostAnswers: state.lostAnswers + 1 } };
    }
    const refusedMs = t.waitAfter?.(error);
    if (refusedMs !== undefined) {
      const next: CommitState = { ...tried, lostAnswers: 0 };
      const lastAnswer = `${error instanceof Error ? error.name : 'refused'} (not committed)`;
      const waitMs = waitOrGiveUp(t.sessionId, next, Math.max(refusedMs, policy.minIntervalMs), lastAnswer, policy, error);
      return { status: 'wait', waitMs, lastAnswer, refused: true, state: { ...next, waitedMs: next.waitedMs + waitMs } };
    }
    // A repeated commit of a session that did commit may be refused in any of these ways.
    if (mayBeRepeatedCommitAnswer(error)) {
      const after = await landedNow({ afterRefusal: true });
      if (after !== undefined) return after;
    }
    if (!(error instanceof BoxPartsMismatchError)) throw error;
    const mismatches = state.partsMismatches + 1;
    if (mismatches > policy.maxPartsMismatches) throw error;
    const next: CommitState = { ...tried, partsMismatches: mismatches, lostAnswers: 0 };
    const delay = Math.min(policy.partsMismatchFirstDelayMs * 2 ** (mismatches - 1), policy.partsMismatchMaxDelayMs);
    const waitMs = waitOrGiveUp(t.sessionId, next, delay, '400 parts_mismatch', policy, error);
    return { status: 'wait', waitMs, lastAnswer: '400 parts_mismatch', state: { ...next, waitedMs: next.waitedMs + waitMs } };
  }
  if (result.status === 'processing') {
    const next: CommitState = { ...tried, partsMismatches: 0, lostAnswers: 0 };
    const lastAnswer = `202 (Retry-After ${result.retryAfterSeconds} s)`;
    const waitMs = waitOrGiveUp(t.sessionId, next, Math.max(result.retryAfterSeconds * 1000, policy.minIntervalMs), lastAnswer, policy);
    return { status: 'wait', waitMs, lastAnswer, state: { ...next, waitedMs: next.waitedMs + waitMs } };
  }
  const file = result.files.entries[0];
  if (file === undefined) {
    // A success without the file: it may have committed, so it is a lost answer (the next try looks first).
    const error = new BoxUnreadableAnswerError(`commit of session ${t.sessionId} answered without a file`, { status: 201 });
    return { status: 'lost', error, state: { ...tried, answerLost: true, lostAnswers: state.lostAnswers + 1 } };
  }
  return { status: 'committed', file, state: { ...tried, answerLost: false, lostAnswers: 0, partsMismatches: 0 }, landedEarlier: false };
}

export interface CommitTimer {
  now(): number;
  /** Resolves after `ms`, or rejects when the signal fires first. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/**
 * Tries until committed, waiting in process between tries (uploadBigFile). A lost answer is retried
 * after a short wait (the `landed` probe looks first), at most `maxLostAnswers` times in a row.
 */
export async function commitUntilDone(t: CommitTry, policy: CommitPolicy, timer: CommitTimer, signal?: AbortSignal): Promise<BoxFile> {
  let state: CommitState = { ...FIRST_COMMIT };
  for (;;) {
    const step = await commitStep(t, state, policy);
    if (step.status === 'committed') return step.file;
    let waitMs: number;
    if (step.status === 'lost') {
      if (step.state.lostAnswers > policy.maxLostAnswers) throw step.error;
      const delay = Math.min(policy.minIntervalMs * 2 ** (step.state.lostAnswers - 1), policy.partsMismatchMaxDelayMs);
      waitMs = waitOrGiveUp(t.sessionId, step.state, delay, `no answer (${step.error.message})`, policy, step.error);
      state = { ...step.state, waitedMs: step.state.waitedMs + waitMs };
    } else {
      waitMs = step.waitMs;
      state = step.state;
    }
    await timer.sleep(waitMs, signal);
  }
}
