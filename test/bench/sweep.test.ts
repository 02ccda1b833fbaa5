// The concurrency sweep says why the pipeline stops scaling from the runs' own numbers: each bound is named
// only when the measurements show it, and "not determined" when none does.
import { describe, expect, it } from 'vitest';
import type { E2eRun } from '../../bench/speed.ts';
import { e2ePlanText } from '../../bench/speed.ts';
import { linkBound, partRounds, sweepFigures, sweepReading, sweepStop } from '../../bench/sweep.ts';

const MiB = 1024 * 1024;
const SHAPE = { bandwidth: 25 * MiB, latencyMs: 30, partSize: 12 * MiB };
const SIZE = 256 * MiB; // 22 parts of 12 MiB

interface Run {
  c: number;
  ms: number;
  /** Prepare done at 0.5 s; the parts phase and the hash end together. */
  partsMs: number;
  runnerLoopMs?: number;
  serverLoopMs?: number;
  cpuMs?: number;
  serverCpuMs?: number;
  otherCores?: number;
}

function run(r: Run): E2eRun {
  return {
    who: 'pipeline',
    size: SIZE,
    rep: 1,
    ms: r.ms,
    cpuMs: r.cpuMs ?? 500,
    serverCpuMs: r.serverCpuMs ?? 500,
    otherCores: r.otherCores ?? 0,
    rssBytes: 0,
    marks: { preparedMs: 500, partsDoneMs: 500 + r.partsMs, hashDoneMs: 500 + r.partsMs, loopActiveMs: r.runnerLoopMs ?? 300 },
    serverLoopMs: r.serverLoopMs ?? 300,
    concurrency: r.c,
  };
}

/** A sweep that scales to 8 and not past it; `at16` shapes the last run. */
function sweep(at16: Partial<Run>): E2eRun[] {
  return [
    run({ c: 1, ms: 13_000, partsMs: 11_300 }),
    run({ c: 2, ms: 7_500, partsMs: 5_800 }),
    run({ c: 4, ms: 5_000, partsMs: 3_300 }),
    run({ c: 8, ms: 4_300, partsMs: 2_960 }),
    run({ c: 16, ms: 4_250, partsMs: 2_950, ...at16 }),
  ];
}

describe('partRounds and linkBound', () => {
  it('follow the batch plan Prepare makes and the link the emulator shapes', () => {
    // 22 parts: at 8, 2 Map slots x 4 parts in flight, one batch of 11 each: 3 rounds; at 16, 4 slots: 2.
    expect(partRounds(SIZE, SHAPE.partSize, 8)).toMatchObject({ rounds: 3, totalParts: 22, plan: { mapConcurrency: 2, partsInFlight: 4, partsPerBatch: 11 } });
    expect(partRounds(SIZE, SHAPE.partSize, 16).rounds).toBe(2);
    expect(partRounds(SIZE, SHAPE.partSize, 1).rounds).toBe(22);
    // One connection: 12 MiB in 0.48 s + 30 ms = 23.5 MiB/s.
    expect(linkBound(SHAPE, 1)).toBeCloseTo(12 / 0.51, 5);
    expect(linkBound(SHAPE, 8)).toBeCloseTo((8 * 12) / 0.51, 5);
  });

  it('the end-to-end text names the batch plan Prepare makes at concurrency 8, from the plan itself', () => {
    const text = e2ePlanText([SIZE, 1024 * MiB], SHAPE.partSize);
    expect(text).toContain('2 Map slots x 4 parts in flight');
    expect(text).toContain('256 MiB in 2 batches of up to 11 parts (3 rounds of parts in the busiest slot)');
    expect(text).toContain('1 GiB in 2 batches of up to 43 parts (11 rounds of parts in the busiest slot)');
    expect(text).toContain('reads 1 part from S3 ahead of its PUTs');
    expect(e2ePlanText([], SHAPE.partSize)).toBe('');
  });

  it('a run\'s figures: parts phase, event loops and cores per ms of the parts-and-hash phase', () => {
    const f = sweepFigures(run({ c: 8, ms: 4_000, partsMs: 2_000, runnerLoopMs: 1_000, serverLoopMs: 1_800, cpuMs: 1_500, serverCpuMs: 2_000, otherCores: 0.25 }), SHAPE);
    expect(f).toMatchObject({ concurrency: 8, partsMs: 2_000, phaseMs: 2_000, runnerLoop: 0.5, serversLoop: 0.9, fixedMs: 2_000, rounds: 3 });
    expect(f.cores).toBeCloseTo(1.75 + 0.25, 10);
    expect(f.roundBoundMs).toBeCloseTo(3 * (480 + 30), 10);
  });
});

describe('sweepStop', () => {
  it('finds the last concurrency that still gained 10 % and evaluates the step after it', () => {
    const s = sweepStop(sweep({}), SHAPE, 2);
    expect(s?.stop.concurrency).toBe(8);
    expect(s?.next?.concurrency).toBe(16);
  });

  it('nothing shows a bound: not determined (the review\'s case: half the machine idle, fewer rounds at 16)', () => {
    const s = sweepStop(sweep({}), SHAPE, 2);
    expect(s?.causes).toEqual([]);
    expect(sweepReading(sweep({}), SHAPE, 2)).toContain('What bounds it: **not determined**');
  });

  it('names the servers\' event loop when it was busy through the phase', () => {
    const xs = sweep({ serverLoopMs: 2_800 });
    expect(sweepStop(xs, SHAPE, 2)?.causes).toEqual(['servers']);
    const text = sweepReading(xs, SHAPE, 2);
    expect(text).toContain("the servers' event loop (s3rver and the emulator share the bench's one): busy 95 %");
    expect(text).not.toContain('not determined');
  });

  it('names the runner\'s event loop, the machine\'s cores, the link, each from its own number', () => {
    expect(sweepStop(sweep({ runnerLoopMs: 2_600 }), SHAPE, 2)?.causes).toEqual(['runner']);
    expect(sweepStop(sweep({ cpuMs: 2_000, serverCpuMs: 2_000, otherCores: 0.5 }), SHAPE, 2)?.causes).toEqual(['machine']);
    // 256 MiB in 0.62 s: 413 MiB/s, above 85 % of the 376 MiB/s sixteen connections carry (fixed part large: no gain end to end).
    const link = [run({ c: 8, ms: 3_000, partsMs: 1_300 }), run({ c: 16, ms: 2_900, partsMs: 620 })];
    expect(sweepStop(link, SHAPE, 2)?.causes).toContain('link');
  });

  it('names the batch plan when the next step has no fewer part rounds', () => {
    // 2 parts (24 MiB): one round at 2, 4 and 8 alike.
    const small = (c: number, ms: number): E2eRun => ({ ...run({ c, ms, partsMs: 600 }), size: 24 * MiB });
    const xs = [small(1, 3_000), small(2, 2_000), small(4, 1_950)];
    const s = sweepStop(xs, SHAPE, 2);
    expect(s?.stop.concurrency).toBe(2);
    expect(s?.causes).toEqual(['rounds']);
    expect(sweepReading(xs, SHAPE, 2)).toContain('the busiest Map slot uploads 1 round of parts, as many as at 2');
  });

  it('names the fixed part when the parts phase got faster and the whole run did not', () => {
    const xs = sweep({ partsMs: 2_000, ms: 4_200 });
    expect(sweepStop(xs, SHAPE, 2)?.causes).toEqual(['fixed']);
    expect(sweepReading(xs, SHAPE, 2)).toContain('the parts phase did get faster (2.96 -> 2.00 s)');
  });

  it('a sweep that scales to its end says so; an empty one says nothing', () => {
    const xs = sweep({ ms: 3_000, partsMs: 1_700 });
    expect(sweepStop(xs, SHAPE, 2)).toMatchObject({ stop: { concurrency: 16 }, next: undefined, causes: [] });
    expect(sweepReading(xs, SHAPE, 2)).toContain('scaled through the whole sweep');
    expect(sweepReading([], SHAPE, 2)).toBe('');
  });

  it('missing measurements name no bound', () => {
    const xs = sweep({});
    const last = xs[4] as E2eRun;
    xs[4] = { ...last, marks: { preparedMs: 500 }, serverLoopMs: undefined };
    expect(sweepStop(xs, SHAPE, 2)?.causes).toEqual([]);
  });
});
