// Commit Lambda: CommitEvent -> CommitProgress (committed, or processing with the wait before the next try).
import { commitTransfer } from '../src/transfer/commit.ts';
import type { CommitEvent, CommitProgress } from '../src/transfer/contract.ts';
import { defaultDeps } from './deps.ts';
import { makeTask } from './task.ts';
import type { DepsSource, TaskHandler } from './task.ts';

export function makeCommitHandler(deps: DepsSource): TaskHandler<CommitEvent, CommitProgress> {
  return makeTask<CommitEvent, CommitProgress>('Commit', deps, (event, d) => commitTransfer(event, d), undefined, (r) => ({
    status: r.status,
    attempts: r.attempts,
    retryAfterSeconds: r.retryAfterSeconds,
    fileId: r.output?.file.id,
  }));
}

export const handler = makeCommitHandler(defaultDeps);
