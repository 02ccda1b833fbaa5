// HashObject Lambda: HashObjectEvent -> HashProgress (one slice of the resumable whole-file SHA-1).
import type { HashObjectEvent, HashProgress } from '../src/transfer/contract.ts';
import { hashSlice } from '../src/transfer/hash.ts';
import { defaultS3Deps } from './s3Deps.ts';
import type { S3Deps } from './s3Deps.ts';
import { makeTask } from './task.ts';
import type { DepsSource, TaskHandler } from './task.ts';

export function makeHashObjectHandler(deps: DepsSource<S3Deps>): TaskHandler<HashObjectEvent, HashProgress> {
  return makeTask<HashObjectEvent, HashProgress, S3Deps>(
    'HashObject',
    deps,
    (event, d, context) =>
      hashSlice(d.s3, event.transfer.source, event.hash, {
        settings: d.settings,
        onProgress: d.onProgress,
        remainingMs:
          typeof context?.getRemainingTimeInMillis === 'function'
            ? () => context.getRemainingTimeInMillis()
            : () => Number.POSITIVE_INFINITY,
      }),
    { summary: (r) => ({ offset: r.offset, done: r.done, via: r.via, invocations: r.invocations, engine: r.engine, bytesPerSecond: r.bytesPerSecond }) },
  );
}

export const handler = makeHashObjectHandler(defaultS3Deps);
