// FinishBatch: the child workflow's last step. Objects copied by nested transfer executions get their
// source identity recorded on the Box file (as direct uploads already have), failed ones their failure
// document; the child's output is every object's result (SUCCEEDED_n.json of the ResultWriter).
import type { TransferDeps } from '../transfer/deps.ts';
import { asBulkBox } from './boxPort.ts';
import type { BatchOutput, FinishBatchEvent, ObjectResult } from './contract.ts';
import { nestedFailure } from './failure.ts';
import { identityProperties } from './identity.ts';

export async function finishBatch(event: FinishBatchEvent, deps: Pick<TransferDeps, 'box' | 'logger'>): Promise<BatchOutput> {
  const results: ObjectResult[] = [...event.results];
  const nested = event.transferResults ?? [];
  if (nested.length === 0) return { results };
  const box = asBulkBox(await deps.box());
  for (const outcome of nested) {
    const { transfer } = outcome;
    const output = outcome.result?.output;
    if (output !== undefined) {
      try {
        await box.metadata.setGlobalProperties(output.file.id, identityProperties({ ...transfer.identity, size: output.file.size, sha1: output.file.sha1 }));
      } catch (err) {
        deps.logger.warn('source identity not recorded on the Box file', { fileId: output.file.id, error: { name: (err as Error).name, message: (err as Error).message } });
      }
      results.push({ key: transfer.key, outcome: 'copied', bytes: output.bytes, path: transfer.path, fileId: output.file.id, sha1: output.file.sha1 });
    } else {
      const error = outcome.error ?? { Error: 'States.Runtime', Cause: 'the nested transfer returned neither an output nor an error' };
      results.push({ key: transfer.key, outcome: 'failed', bytes: transfer.bytes, path: transfer.path, failure: nestedFailure(error), input: transfer.input });
    }
  }
  return { results };
}
