// Prepare Lambda: TransferInput -> PrepareResult (the state document).
import type { PrepareResult } from '../src/transfer/contract.ts';
import { prepareTransfer } from '../src/transfer/prepare.ts';
import { defaultDeps } from './deps.ts';
import { makeTask } from './task.ts';
import type { DepsSource, TaskHandler } from './task.ts';

export function makePrepareHandler(deps: DepsSource): TaskHandler<unknown, PrepareResult> {
  return makeTask<unknown, PrepareResult>(
    'Prepare',
    deps,
    (event, d) => prepareTransfer(event, d),
    (event) => {
      const src = (event as { source?: { bucket?: unknown; key?: unknown } } | undefined)?.source;
      return { bucket: src?.bucket, key: src?.key };
    },
    (r) => ({ mode: r.mode, sessionId: r.transfer.session?.id, batches: r.batches.length, size: r.transfer.source.size }),
  );
}

export const handler = makePrepareHandler(defaultDeps);
