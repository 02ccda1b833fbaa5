// Run one transfer through the real state machine with the real handlers (see index.ts). Kept apart from
// index.ts so that the CLI's transfer command loads the runner without s3rver.
// The transfer's handlers only: the bulk ones (functions/index.ts) load modules a transfer never runs.
import { makeTaskHandlers } from '../../functions/transferHandlers.ts';
import type { HandlerDeps } from '../../functions/deps.ts';
import type { TransferInput, TransferOutput } from '../../src/transfer/contract.ts';
import { startExecution } from './execution.ts';
import type { ExecutionOptions, TaskHandlers, TransferExecution } from './execution.ts';

export interface RunTransferOptions extends Omit<ExecutionOptions, 'handlers'> {
  /** What the Lambdas run with: S3 client, Box client factory, logger, settings. */
  deps: HandlerDeps;
  /** Replace some of the real handlers (tests: wrap one to count calls or inject a failure). */
  handlers?: Partial<TaskHandlers>;
}

/** Start one local execution; see TransferExecution for the result, the history and abort(). */
export function startTransfer(input: TransferInput, options: RunTransferOptions): TransferExecution {
  const { deps, handlers, ...rest } = options;
  const real: TaskHandlers = makeTaskHandlers(deps);
  const merged: TaskHandlers = { ...real };
  for (const [name, handler] of Object.entries(handlers ?? {})) if (handler) merged[name] = handler;
  return startExecution(input, { ...rest, handlers: merged });
}

/** Run one transfer to its end: the execution's output, or a TransferExecutionError (name = Error, message = Cause). */
export function runTransfer(input: TransferInput, options: RunTransferOptions): Promise<TransferOutput> {
  return startTransfer(input, options).result;
}

