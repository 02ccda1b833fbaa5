// The nested transfer executions of a bulk run: their names, and what became of one whose child workflow the
// run's end stopped.
//
// Step Functions stops every running child workflow when a Map Run fails past its tolerated failures (and when
// the bulk run itself ends); a stopped child's `startExecution.sync:2` Task stops its nested transfer. That
// transfer keeps its Box session (src/transfer/stop.ts), but the child never hands over a result, so the
// ResultWriter's record of it holds only the batch's input. Each nested transfer is named from the run and the
// key, so Summarize can find it again: its history names the session it kept, and the report says how to
// resume it.
import { createHash } from 'node:crypto';
import { DescribeExecutionCommand } from '@aws-sdk/client-sfn';
import type { SFNClient } from '@aws-sdk/client-sfn';
import type { TransferContext, TransferInput, TransferOutput } from '../transfer/contract.ts';
import { failureDocument } from '../transfer/failure.ts';
import { isRecord } from '../transfer/json.ts';
import { withinRequestBudget } from '../transfer/request-budget.ts';
import { findStoppedTransfer } from '../transfer/stop.ts';
import type { FailureDocument } from './contract.ts';
import { nestedFailure } from './failure.ts';

/**
 * The execution name of the nested transfer of `key` in the run `runId` (its execution id): the same in SyncBatch,
 * which starts it, and in Summarize, which looks for it (at most 80 characters, as Step Functions allows).
 */
export function nestedTransferName(runId: string, key: string): string {
  return `object-${createHash('sha256').update(`${runId}\n${key}`).digest('hex').slice(0, 40)}`;
}

/** Where Summarize reads the nested transfers: the transfer state machine, through DescribeExecution and GetExecutionHistory. */
export interface NestedTransfers {
  sfn: Pick<SFNClient, 'send'>;
  stateMachineArn: string;
}

function executionArnOf(stateMachineArn: string, name: string): string {
  return `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
}

/** What became of a nested transfer, as a report line tells it. */
export type NestedOutcome = { status: 'SUCCEEDED'; output: TransferOutput } | { status: 'FAILED' | 'STOPPED'; failure: FailureDocument };

/** The error name of an object whose nested transfer the run's end stopped. */
export const STOPPED_BY_RUN = 'Transfer.StoppedByRun';

/**
 * The nested transfer of `key` in run `runId`: undefined when none was started (the child stopped before it
 * handed the object over, or copied it itself) or when it is still running.
 */
export async function nestedOutcome(nested: NestedTransfers, runId: string, key: string): Promise<NestedOutcome | undefined> {
  const executionArn = executionArnOf(nested.stateMachineArn, nestedTransferName(runId, key));
  let described;
  try {
    described = await withinRequestBudget(`DescribeExecution ${executionArn}`, undefined, (abortSignal) =>
      nested.sfn.send(new DescribeExecutionCommand({ executionArn }), { abortSignal }),
    );
  } catch (err) {
    if ((err as { name?: unknown })?.name === 'ExecutionDoesNotExist') return undefined;
    throw err;
  }
  switch (described.status) {
    case 'SUCCEEDED':
      return { status: 'SUCCEEDED', output: JSON.parse(described.output ?? 'null') as TransferOutput };
    case 'FAILED':
    case 'TIMED_OUT':
      return { status: 'FAILED', failure: nestedFailure({ Error: described.error ?? 'States.Timeout', Cause: described.cause ?? '' }) };
    case 'ABORTED': {
      const stopped = await findStoppedTransfer(nested.sfn, executionArn);
      const transfer = isRecord(stopped.prepared) ? (stopped.prepared['transfer'] as TransferContext | undefined) : undefined;
      const message =
        `the bulk run ended (its Map Run failed past the tolerated failures, or the run was stopped or timed out) while this object's transfer ran` +
        (stopped.session !== undefined ? `; its Box upload session ${stopped.session.id} was kept: resume it with resumeInput, or discard it with s3-to-box abort ${stopped.session.id}` : ': it had no Box upload session yet; copy it again with input');
      const failure = failureDocument({ input: isRecord(stopped.input) ? (stopped.input as unknown as TransferInput) : undefined, state: { error: { Error: STOPPED_BY_RUN, Cause: message }, ...(transfer !== undefined ? { transfer } : {}) } });
      return { status: 'STOPPED', failure };
    }
    default:
      return undefined;
  }
}
