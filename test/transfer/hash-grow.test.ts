// The hash's adaptive ranges-in-flight rule (nextAllowed), on its own: scripted idle shares per window, no
// timers, no I/O. What a window does inside hashSlice (and that nothing opens once the slice stopped) is in
// hash-ranges.test.ts, with the idle signal scripted the same way.
import { describe, expect, it } from 'vitest';
import { nextAllowed, nextGrowth } from '../../src/transfer/hash.ts';
import type { Growth } from '../../src/transfer/hash.ts';

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

describe('nextGrowth: an opening is kept only when it raised the bytes received per second', () => {
  const MB = 1_000_000;
  /** The growth after each window of a scripted sequence of [idle share, bytes per second]. */
  const run = (windows: Array<[number, number | undefined]>, max = 8): Growth[] => {
    let g: Growth = { allowed: 1, recent: [], holdWindows: 0 };
    return windows.map(([idle, rate]) => (g = nextGrowth(g, idle, rate, max)));
  };

  it('capped connections (each range adds its cap): every opening pays, up to the maximum', () => {
    // 85 MB/s per range in flight, the thread mostly idle: 1 -> 2 -> 4 -> 8, each judged on windows 2 and 3 after it.
    let allowed = 1;
    const seen: number[] = [];
    let g: Growth = { allowed: 1, recent: [], holdWindows: 0 };
    for (let w = 0; w < 20; w++) {
      g = nextGrowth(g, 0.8, 85 * MB * allowed, 8);
      // The new ranges carry from the window after the opening.
      allowed = g.allowed;
      seen.push(g.allowed);
    }
    expect(seen.slice(0, 2)).toEqual([1, 2]);
    expect(Math.max(...seen)).toBe(8);
    expect(seen.at(-1)).toBe(8);
    // Never undone.
    for (let i = 1; i < seen.length; i++) expect(seen[i]!).toBeGreaterThanOrEqual(seen[i - 1]!);
  });

  it('a source that is the bound (the rate stays where it was): the opening is undone and none is tried for a while', () => {
    const windows: Array<[number, number]> = Array.from({ length: 50 }, () => [0.5, 1000 * MB]);
    const seen = run(windows).map((g) => g.allowed);
    // Two windows measured, then an opening to 2 (half idle: 1 / 0.5), judged on the 2nd and 3rd window after it.
    expect(seen.slice(0, 6)).toEqual([1, 2, 2, 2, 1, 1]);
    // Held back 40 windows, then tried again (and undone again).
    expect(seen.slice(6, 44).every((a) => a === 1)).toBe(true);
    expect(seen.slice(44)).toContain(2);
  });

  it('an opening from 1 to 2 must raise the rate by half of what two ranges could (1.5x): less is undone', () => {
    const judged = (after: number): number => {
      const seq: Array<[number, number]> = [
        [0.9, 100 * MB],
        [0.9, 100 * MB],
        // Busy windows while judged: the opening's own judgement decides, not the idle share.
        [0.1, after],
        [0.1, after],
        [0.1, after],
      ];
      return run(seq).at(-1)!.allowed;
    };
    // One measured window opens nothing yet: an opening needs two to be judged against.
    expect(run([[0.9, 100 * MB]])[0]!.allowed).toBe(1);
    expect(judged(149 * MB)).toBe(1);
    expect(judged(151 * MB)).toBe(2);
  });

  it('judged on the 2nd and 3rd windows after the opening against the two before', () => {
    const seq: Array<[number, number]> = [
      [0.1, 100 * MB],
      [0.1, 100 * MB],
      [0.9, 100 * MB], // opens 1 -> 2; before = 100
      [0.9, 500 * MB], // first window after: skipped (the new range's first bytes)
      [0.9, 140 * MB],
      [0.9, 140 * MB], // mean 140 < 150: undone
    ];
    expect(run(seq).map((g) => g.allowed)).toEqual([1, 1, 2, 2, 2, 1]);
    seq[4] = [0.9, 160 * MB];
    seq[5] = [0.9, 160 * MB]; // mean 160 >= 150: kept, and (idle) the next opening follows
    expect(run(seq).map((g) => g.allowed)).toEqual([1, 1, 2, 2, 2, 4]);
  });

  it('a small step near the top pays in proportion: 7 -> 8 over capped connections (8/7 at best) is kept', () => {
    // Idle 0.2 at 7: 7 / 0.8 = 8.75, so one more (8). Each range carries 85 MB/s.
    let g: Growth = { allowed: 7, recent: [], holdWindows: 0 };
    const seen: number[] = [];
    for (let w = 0; w < 10; w++) {
      g = nextGrowth(g, 0.2, 85 * MB * g.allowed, 8);
      seen.push(g.allowed);
    }
    expect(seen).toEqual([7, 8, 8, 8, 8, 8, 8, 8, 8, 8]);
    // The same step that gave nothing (a source that is the bound) is undone.
    g = { allowed: 7, recent: [], holdWindows: 0 };
    const flat: number[] = [];
    for (let w = 0; w < 6; w++) flat.push((g = nextGrowth(g, 0.2, 595 * MB, 8)).allowed);
    expect(flat).toEqual([7, 8, 8, 8, 7, 7]);
  });

  it('windows without a rate (a scripted signal) judge nothing: idle alone decides, as nextAllowed', () => {
    const idle = [0.9, 0.1, 0.05, 0.5, 0.12, 0.9, 0];
    expect(run(idle.map((i) => [i, undefined])).map((g) => g.allowed)).toEqual([2, 2, 2, 4, 4, 8, 8]);
  });
});
