// `s3-to-box status <name|executionArn>`: the status document of GET /transfers/{name}, read with the
// same core (src/trigger/status.ts) from AWS or from a local Step Functions API (--sfn-endpoint).
import { SFNClient } from '@aws-sdk/client-sfn';
import { getTransferStatus } from '../../src/trigger/status.ts';
import type { TransferStatus } from '../../src/trigger/status.ts';
import { EXIT_STATUS, exitStatusForError } from './exit-status.ts';

export interface StatusCommandOptions {
  stateMachineArn?: string;
  bulkStateMachineArn?: string;
  region: string;
  sfnEndpoint?: string;
  json?: boolean;
}

function describeLine(s: TransferStatus): string[] {
  const lines = [`${s.name}  ${s.status}  (${s.kind})`, `  started ${s.startDate ?? '?'}${s.stopDate ? `, stopped ${s.stopDate}` : ''}`];
  if (s.progress?.mode === 'chunked') {
    lines.push(
      s.progress.partsStored !== undefined
        ? `  ${s.progress.partsStored} of ${s.progress.totalParts ?? '?'} parts stored (${s.progress.bytesStored ?? 0} of ${s.progress.size} bytes)`
        : `  ${s.progress.totalParts ?? '?'} parts, ${s.progress.size} bytes; parts stored unknown: ${s.progress.unavailable ?? ''}`,
    );
  } else if (s.progress?.mode === 'bulk') {
    const o = s.progress.objects;
    lines.push(
      o !== undefined
        ? `  objects: ${o.listed} listed, ${o.finished} in finished batches, ${o.running} in running ones, ${o.pending} waiting, ${o.failed} in failed batches`
        : s.progress.unavailable !== undefined
          ? `  objects unknown: ${s.progress.unavailable}`
          : '  planning: no objects listed yet',
    );
  } else if (s.progress) lines.push(`  direct upload of ${s.progress.size} bytes`);
  if (s.output !== undefined) lines.push(`  output ${JSON.stringify(s.output)}`);
  if (s.failure) lines.push(`  ${s.failure.error.name}: ${s.failure.error.message}`, `  resumable: ${s.failure.resumable}`);
  return lines;
}

/** Exit status: 0 found (whatever its state), 1 not found or Step Functions failed, 2 bad usage. */
export async function runStatusCommand(nameOrArn: string, opts: StatusCommandOptions, env: Record<string, string | undefined> = process.env): Promise<number> {
  const stateMachineArn = opts.stateMachineArn ?? env.STATE_MACHINE_ARN;
  if (!stateMachineArn && !nameOrArn.startsWith('arn:')) {
    console.error('--state-machine-arn (or STATE_MACHINE_ARN) is required with an execution name; or give the execution ARN');
    return EXIT_STATUS.usage;
  }
  // An ARN names its state machine: derive it when none is given.
  const machine = stateMachineArn ?? nameOrArn.split(':').slice(0, 7).join(':').replace(':execution:', ':stateMachine:');
  const sfn = new SFNClient({ region: opts.region, ...(opts.sfnEndpoint ? { endpoint: opts.sfnEndpoint } : {}) });
  try {
    const bulk = opts.bulkStateMachineArn ?? env.BULK_STATE_MACHINE_ARN;
    const status = await getTransferStatus({ sfn, stateMachineArn: machine, ...(bulk ? { bulkStateMachineArn: bulk } : {}) }, nameOrArn);
    console.log(opts.json ? JSON.stringify(status) : describeLine(status).join('\n'));
    return EXIT_STATUS.done;
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    console.error(`${e.name}: ${e.message}`);
    return exitStatusForError(e.name);
  } finally {
    sfn.destroy();
  }
}
