// Commit Lambda: CommitEvent -> CommitProgress (committed, or processing with the wait before the next try).
import { commitTransfer } from '../src/transfer/commit.ts';
import type { CommitEvent, CommitProgress } from '../src/transfer/contract.ts';
import { defaultDeps } from './deps.ts';
import { METRIC } from './observability.ts';
import { makeTask } from './task.ts';
import type { DepsSource, TaskHandler } from './task.ts';

export function makeCommitHandler(deps: DepsSource): TaskHandler<CommitEvent, CommitProgress> {
  return makeTask<CommitEvent, CommitProgress>('Commit', deps, (event, d) => commitTransfer(event, d), {
    summary: (r) => ({ status: r.status, attempts: r.attempts, retryAfterSeconds: r.retryAfterSeconds, fileId: r.output?.file.id }),
    measure: (r) =>
      r.status === 'committed'
        ? [
            { name: METRIC.transfersSucceeded, unit: 'Count', value: 1 },
            { name: METRIC.commitWait, unit: 'Seconds', value: r.waitedSeconds },
          ]
        : [],
  });
}

export const handler = makeCommitHandler(defaultDeps);
