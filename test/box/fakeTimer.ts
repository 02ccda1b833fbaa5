// A fake clock for uploadBigFile's commit loop: sleeping records the wait and moves the clock on at
// once, so that tests assert the waits asked for instead of timing them.
import type { CommitTimer } from '../../src/box/index.ts';

export interface FakeCommitTimer extends CommitTimer {
  /** Every wait asked for, in ms, in order. */
  waits: number[];
}

export function fakeCommitTimer(start = 1_700_000_000_000): FakeCommitTimer {
  let now = start;
  const waits: number[] = [];
  return {
    waits,
    now: () => now,
    sleep: (ms) => {
      waits.push(ms);
      now += ms;
      return Promise.resolve();
    },
  };
}
