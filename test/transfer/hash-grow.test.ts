// The hash's adaptive ranges-in-flight rule (nextAllowed), on its own: scripted idle shares per window, no
// timers, no I/O. What a window does inside hashSlice (and that nothing opens once the slice stopped) is in
// hash-ranges.test.ts, with the idle signal scripted the same way.
import { describe, expect, it } from 'vitest';
import { nextAllowed } from '../../src/transfer/hash.ts';

/** The ranges allowed after each window of a scripted sequence of idle shares, from `start`. */
const after = (start: number, idleShares: number[], max = 8): number[] => {
  let allowed = start;
  return idleShares.map((idle) => (allowed = nextAllowed(allowed, idle, max)));
};

describe('nextAllowed: the ranges a hash slice allows in flight after a window', () => {
  it('a thread idle 90 % of each window (waiting on the network) doubles them, up to the maximum', () => {
    // allowed / busy share = 10x, capped at twice as many per window.
    expect(after(1, [0.9, 0.9, 0.9, 0.9, 0.9])).toEqual([2, 4, 8, 8, 8]);
    // A completely idle window (a slow first byte) opens no more than twice as many either.
    expect(after(1, [1, 1])).toEqual([2, 4]);
  });

  it('between the bounds it opens what would keep the thread busy: allowed / busy share, at least one more', () => {
    // Half idle: 2 ranges keep it half busy, 4 would keep it busy.
    expect(nextAllowed(2, 0.5, 8)).toBe(4);
    expect(nextAllowed(3, 0.5, 8)).toBe(6);
    // 20 % idle at 3: 3 / 0.8 = 3.75, rounded down to 3, so at least one more.
    expect(nextAllowed(3, 0.2, 8)).toBe(4);
    // 40 % idle at 5: 5 / 0.6 = 8.3, capped by the maximum.
    expect(nextAllowed(5, 0.4, 8)).toBe(8);
  });

  it('a busy thread (idle at most 15 % of the window) opens none, at any number allowed', () => {
    for (const allowed of [1, 2, 3, 7]) {
      expect(after(allowed, [0, 0.05, 0.1, 0.15, 0.15])).toEqual([allowed, allowed, allowed, allowed, allowed]);
    }
    // Just above the share: one more.
    expect(nextAllowed(1, 0.16, 8)).toBe(2);
  });

  it('a scripted mix: busy windows hold it where it is, idle ones open more, it never shrinks', () => {
    expect(after(1, [0.9, 0.1, 0.05, 0.5, 0.12, 0.9, 0])).toEqual([2, 2, 2, 4, 4, 8, 8]);
  });

  it('never above the maximum, never below what it allowed, whatever the idle share', () => {
    for (const max of [1, 2, 3, 8, 16]) {
      for (let allowed = 1; allowed <= max; allowed++) {
        for (let i = 0; i <= 20; i++) {
          const next = nextAllowed(allowed, i / 20, max);
          expect(next, `${allowed} of ${max}, idle ${i / 20}`).toBeLessThanOrEqual(max);
          expect(next).toBeGreaterThanOrEqual(allowed);
          expect(next).toBeLessThanOrEqual(2 * allowed);
        }
      }
    }
    // Already at the maximum: stays there even when idle.
    expect(nextAllowed(8, 1, 8)).toBe(8);
    expect(nextAllowed(1, 1, 1)).toBe(1);
  });
});
