// AbortSession: best-effort DELETE of the upload session after a failure. It throws only what the state
// machine retries (out of time, throttled, Box unavailable); either way the Fail carries the original
// error (the state machine keeps it at $.error), never the abort's.
import type { AbortSessionEvent, AbortSessionResult } from './contract.ts';
import type { TransferDeps } from './deps.ts';
import { errorFields } from './logger.ts';

/** What AbortSession's Retry retries (Box.Aborted: a request cancelled by the invocation's deadline). */
const RETRIED = new Set(['Box.Aborted', 'Box.RateLimited', 'Box.ServerError', 'Box.NetworkError']);

export async function abortTransfer(event: AbortSessionEvent, deps: Pick<TransferDeps, 'box' | 'logger'>): Promise<AbortSessionResult> {
  const session = event?.transfer?.session;
  const log = deps.logger.child({
    sessionId: session?.id,
    originalError: event?.error?.Error,
    originalCause: typeof event?.error?.Cause === 'string' ? event.error.Cause.slice(0, 1000) : undefined,
  });
  if (session === undefined) {
    log.info('no upload session to abort');
    return { aborted: false, reason: 'no upload session' };
  }
  try {
    const box = await deps.box();
    await box.chunkedUploads.deleteFileUploadSessionByUrl(session.endpoints.abort);
    log.info('upload session aborted');
    return { aborted: true };
  } catch (err) {
    // Out of time, throttled, or Box unavailable: the state machine's Retry tries again (the failure
    // document still carries the original error however the abort ends).
    if (RETRIED.has((err as { name?: unknown })?.name as string)) {
      log.warn('aborting the upload session failed; to be retried', { error: errorFields(err) });
      throw err;
    }
    log.warn('could not abort the upload session', { error: errorFields(err) });
    const e = err instanceof Error ? err : new Error(String(err));
    return { aborted: false, reason: `${e.name}: ${e.message}`.slice(0, 1000) };
  }
}
