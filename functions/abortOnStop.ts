// AbortOnStop Lambda: run by an EventBridge rule when a transfer execution is stopped (status ABORTED).
// It finds the Box upload session in the execution's history and aborts it (src/transfer/stop.ts).
// Its role may read the transfer executions' history and the Box secret, nothing else.
import { SFNClient } from '@aws-sdk/client-sfn';
import type { SFNClient as SFNClientType } from '@aws-sdk/client-sfn';
import { abortStoppedTransfer } from '../src/transfer/stop.ts';
import type { AbortOnStopResult, ExecutionStatusChangeEvent } from '../src/transfer/stop.ts';
import { defaultBoxDeps } from './deps.ts';
import type { BoxDeps } from './deps.ts';
import { processTelemetry } from './observability.ts';
import { makeTask } from './task.ts';
import type { DepsSource, TaskHandler } from './task.ts';

type Env = Record<string, string | undefined>;

/** The Step Functions client: SFN_ENDPOINT points it at a stand-in (the local Step Functions API). */
function sfnClientFromEnv(env: Env = process.env): SFNClientType {
  return new SFNClient(env.SFN_ENDPOINT ? { endpoint: env.SFN_ENDPOINT } : {});
}

export function makeAbortOnStopHandler(deps: DepsSource<BoxDeps>, sfn: () => Pick<SFNClientType, 'send'>): TaskHandler<ExecutionStatusChangeEvent, AbortOnStopResult> {
  return makeTask<ExecutionStatusChangeEvent, AbortOnStopResult, BoxDeps>(
    'AbortOnStop',
    deps,
    (event, d) => abortStoppedTransfer(event, { sfn: sfn(), box: d.box, logger: d.logger }),
    {
      fields: (event) => ({ executionId: event?.detail?.executionArn, status: event?.detail?.status }),
      summary: (r) => ({ sessionId: r.sessionId, aborted: r.aborted, reason: r.reason }),
    },
  );
}

let processSfn: Pick<SFNClientType, 'send'> | undefined;
export const handler = makeAbortOnStopHandler(defaultBoxDeps, () => (processSfn ??= processTelemetry().tracer.captureAWSv3Client(sfnClientFromEnv())));
