// AbortSession Lambda: AbortSessionEvent -> AbortSessionResult (never throws the abort's error).
import { abortTransfer } from '../src/transfer/abort.ts';
import type { AbortSessionEvent, AbortSessionResult } from '../src/transfer/contract.ts';
import { defaultBoxDeps } from './deps.ts';
import type { BoxDeps } from './deps.ts';
import { makeTask } from './task.ts';
import type { DepsSource, TaskHandler } from './task.ts';

export function makeAbortSessionHandler(deps: DepsSource<BoxDeps>): TaskHandler<AbortSessionEvent, AbortSessionResult> {
  return makeTask<AbortSessionEvent, AbortSessionResult, BoxDeps>('AbortSession', deps, (event, d) => abortTransfer(event, d), {
    summary: (r) => ({ aborted: r.aborted, reason: r.reason }),
  });
}

export const handler = makeAbortSessionHandler(defaultBoxDeps);
