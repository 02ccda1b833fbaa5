// `s3-to-box status <name|executionArn>`: the status document of GET /transfers/{name}, read with the
// same core (src/trigger/status.ts) from AWS or from a local Step Functions API (--sfn-endpoint).
import { DescribeStateMachineCommand, SFNClient } from '@aws-sdk/client-sfn';
import { getTransferStatus, isExecutionArn, TransferNotFoundError } from '../../src/trigger/status.ts';
import type { TransferStatus } from '../../src/trigger/status.ts';
import { isRecord } from '../../src/transfer/json.ts';
import { requireAwsCredentials } from './aws-credentials.ts';
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

type MachineKind = 'transfer' | 'bulk';

/**
 * Which of the project's state machines a definition (DescribeStateMachine's JSON) is: the bulk one has a
 * Distributed Map among its top-level states; the transfer one starts at Prepare and has none.
 */
export function machineKindOfDefinition(definition: string | undefined): MachineKind | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(definition ?? '');
  } catch {
    return undefined;
  }
  if (!isRecord(parsed) || !isRecord(parsed['States'])) return undefined;
  const distributed = Object.values(parsed['States']).some((state) => {
    const processor = isRecord(state) && state['Type'] === 'Map' ? state['ItemProcessor'] : undefined;
    return isRecord(processor) && isRecord(processor['ProcessorConfig']) && processor['ProcessorConfig']['Mode'] === 'DISTRIBUTED';
  });
  if (distributed) return 'bulk';
  return parsed['StartAt'] === 'Prepare' ? 'transfer' : undefined;
}

// The deployment names its machines s3-to-box-STAGE and s3-to-box-bulk-STAGE (serverless.yml).
const BULK_MACHINE_NAME = /^s3-to-box-bulk-/;

/**
 * The kind of the state machine an execution ARN names, read from its definition. A caller who may not
 * describe state machines gets the deployment's naming instead, with a note on stderr.
 */
async function machineKindOf(sfn: SFNClient, machineArn: string): Promise<MachineKind> {
  let definition: string | undefined;
  try {
    ({ definition } = await sfn.send(new DescribeStateMachineCommand({ stateMachineArn: machineArn })));
  } catch (err) {
    const name = (err as { name?: string }).name;
    if (name === 'StateMachineDoesNotExist') throw new TransferNotFoundError(`No state machine ${machineArn}`);
    if (name !== 'AccessDeniedException') throw err;
    const kind = BULK_MACHINE_NAME.test(machineArn.split(':')[6] ?? '') ? 'bulk' : 'transfer';
    console.error(`note: not allowed to read ${machineArn} (states:DescribeStateMachine); taken by its name as the ${kind} state machine`);
    return kind;
  }
  const kind = machineKindOfDefinition(definition);
  if (kind === undefined) throw new TransferNotFoundError(`${machineArn} is neither the transfer nor the bulk state machine of s3-to-box (read by its definition)`);
  return kind;
}

/** Exit status: 0 found (whatever its state), 1 not found or Step Functions failed, 2 bad usage. */
export async function runStatusCommand(nameOrArn: string, opts: StatusCommandOptions, env: Record<string, string | undefined> = process.env): Promise<number> {
  const given = opts.stateMachineArn ?? env.STATE_MACHINE_ARN;
  const givenBulk = opts.bulkStateMachineArn ?? env.BULK_STATE_MACHINE_ARN;
  if (!given && !givenBulk && !nameOrArn.startsWith('arn:')) {
    console.error(
      'an execution name needs the state machine to look in: --state-machine-arn (or STATE_MACHINE_ARN) for a transfer, --bulk-state-machine-arn (or BULK_STATE_MACHINE_ARN) for a bulk run, or both; or give the execution ARN',
    );
    return EXIT_STATUS.usage;
  }
  const sfn = new SFNClient({ region: opts.region, ...(opts.sfnEndpoint ? { endpoint: opts.sfnEndpoint } : {}) });
  try {
    await requireAwsCredentials(sfn, 'read the executions from Step Functions');
    let stateMachineArn = given;
    let bulkStateMachineArn = givenBulk;
    // An ARN names its state machine: one not given is told apart (transfer or bulk) by its definition.
    const machine = isExecutionArn(nameOrArn) ? nameOrArn.split(':').slice(0, 7).join(':').replace(':execution:', ':stateMachine:') : undefined;
    if (machine !== undefined && machine !== stateMachineArn && machine !== bulkStateMachineArn) {
      if ((await machineKindOf(sfn, machine)) === 'bulk') bulkStateMachineArn = machine;
      else stateMachineArn = machine;
    }
    // A name is looked for in each machine known (the transfer one first); the line says which held it.
    const deps = { sfn, ...(stateMachineArn ? { stateMachineArn } : {}), ...(bulkStateMachineArn ? { bulkStateMachineArn } : {}) };
    const status = await getTransferStatus(deps, nameOrArn);
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
