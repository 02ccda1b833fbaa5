// AbortSession: best-effort DELETE of the upload session after a failure. It never throws, so the
// state machine's Fail always carries the original error, not the abort's.
import type { AbortSessionEvent, AbortSessionResult } from './contract.ts';
import type { TransferDeps } from './deps.ts';
import { errorFields } from './logger.ts';

export async function abortTransfer(event: AbortSessionEvent, deps: TransferDeps): Promise<AbortSessionResult> {
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
    log.warn('could not abort the upload session', { error: errorFields(err) });
    const e = err instanceof Error ? err : new Error(String(err));
    return { aborted: false, reason: `${e.name}: ${e.message}`.slice(0, 1000) };
  }
}
