// The hash target's ratio: the medians of raw/hash pairs taken in ABBA order (review S7), so that one noisy
// raw sample cannot decide the verdict; rows of earlier runs (one raw sample, no pairs) still render.
import { describe, expect, it } from 'vitest';
import { hashRatio } from '../../bench/speed.ts';
import type { HashPair, HashRow } from '../../bench/speed.ts';

function row(pairs: HashPair[] | undefined, readOnlyMiBs = 1000, hashObjectMiBs = 500): HashRow {
  return { cpu: 'AMD EPYC', date: 'd', size: 1024 ** 3, readOnlyMiBs, hashObjectMiBs, nodeStreamMiBs: 700, resumableMiBs: 300, engine: 'node:crypto', otherCores: 0, process: 'lambda', ...(pairs ? { pairs } : {}) };
}
const pair = (readMiBs: number, hashMiBs: number): HashPair => ({ readMiBs, hashMiBs, hashRanges: 2 });

describe('hashRatio', () => {
  it('is the median of every hash sample over the median of every raw read, across the rows', () => {
    // One raw read far too fast (a quiet moment) does not decide it: per pair 0.4x, 0.9x, 0.95x, 0.85x.
    const r = hashRatio([row([pair(1000, 400), pair(500, 450)]), row([pair(500, 475), pair(520, 442)])]);
    expect(r.pairs).toBe(4);
    // Medians: hash (442 + 450) / 2 = 446, raw (500 + 520) / 2 = 510.
    expect(r.ratio).toBeCloseTo(446 / 510, 10);
    expect(r.perPair.map((x) => Number(x.toFixed(2)))).toEqual([0.4, 0.9, 0.95, 0.85]);
  });

  it('rows of earlier runs without pairs: the median of their one-sample ratios', () => {
    const r = hashRatio([row(undefined, 1000, 790), row(undefined, 1000, 770)]);
    expect(r).toEqual({ ratio: 0.78, pairs: 0, perPair: [] });
  });

  it('no rows: not measured (NaN)', () => {
    expect(hashRatio([]).ratio).toBeNaN();
  });
});
