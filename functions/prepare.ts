// Prepare Lambda: TransferInput -> PrepareResult (the state document).
import type { PrepareResult } from '../src/transfer/contract.ts';
import { prepareTransfer } from '../src/transfer/prepare.ts';
import { defaultDeps } from './deps.ts';
import { executionNameOf, makeTask } from './task.ts';
import type { DepsSource, TaskHandler } from './task.ts';

/**
 * The state machine passes `{ input, executionId, retryCount }` (the execution's input, its id for the
 * logs, and `$$.State.RetryCount`); a direct invocation may pass the TransferInput itself.
 */
function isStateMachineEvent(event: unknown): event is { input: unknown; executionId: unknown; retryCount?: unknown } {
  if (typeof event !== 'object' || event === null || !('input' in event) || !('executionId' in event)) return false;
  return Object.keys(event).every((k) => k === 'input' || k === 'executionId' || k === 'retryCount');
}

function transferInputOf(event: unknown): unknown {
  return isStateMachineEvent(event) ? event.input : event;
}

function retryCountOf(event: unknown): number {
  return isStateMachineEvent(event) && typeof event.retryCount === 'number' ? event.retryCount : 0;
}

export function makePrepareHandler(deps: DepsSource): TaskHandler<unknown, PrepareResult> {
  return makeTask<unknown, PrepareResult>(
    'Prepare',
    deps,
    (event, d) => prepareTransfer(transferInputOf(event), d, { retryCount: retryCountOf(event) }),
    {
      fields: (event) => {
        const src = (transferInputOf(event) as { source?: { bucket?: unknown; key?: unknown } } | undefined)?.source;
        const executionId = (event as { executionId?: unknown } | undefined)?.executionId;
        return {
          executionId: typeof executionId === 'string' ? executionId : undefined,
          executionName: executionNameOf(executionId),
          bucket: src?.bucket,
          key: src?.key,
        };
      },
      summary: (r) => ({ mode: r.mode, sessionId: r.transfer.session?.id, batches: r.batches.length, size: r.transfer.source.size }),
    },
  );
}

export const handler = makePrepareHandler(defaultDeps);
