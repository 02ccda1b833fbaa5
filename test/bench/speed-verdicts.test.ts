// The speed bench's verdicts are what BENCHMARKS.md's targets table says as "met" or "not met": pinned here
// on small fixed results, so that an edit of a row cannot turn a missing or failed measurement into "met".
import { describe, expect, it } from 'vitest';
import { e2eRatio, renderShapedHash, shapedHashReading, targetVerdicts } from '../../bench/speed.ts';
import type { BatchRun, E2eRun, HashRow, Options, ShapedHash, SpeedResults, TargetRow } from '../../bench/speed.ts';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

function e2e(who: E2eRun['who'], size: number, rep: number, ms: number): E2eRun {
  return { who, size, rep, ms, cpuMs: 1000, serverCpuMs: 1000, otherCores: 0, rssBytes: 200 * MiB, marks: {} };
}

function hash(process: HashRow['process'], readOnlyMiBs: number, hashObjectMiBs: number): HashRow {
  return { cpu: 'Test CPU', date: '2026-12-02', size: GiB, readOnlyMiBs, hashObjectMiBs, nodeStreamMiBs: 700, resumableMiBs: 300, engine: 'node:crypto', otherCores: 0, process };
}

function batch(partSize: number, partsInFlight: number, rssBytes: number, maxPartsInFlight = partsInFlight): BatchRun {
  return { partSize, partsInFlight, parts: 2 * partsInFlight, rssBytes, idleRssBytes: 70 * MiB, boundBytes: 2 * partSize * partsInFlight + 120 * MiB, arrayBuffersBytes: 0, otherCores: 0, maxPartsInFlight };
}

/** Every target measured and met: 1 GiB at 5.5x (three runs), 6 CPU-s per GiB, 0.85x hash, 600 ms CLI, memory within, 4 GiB at 300 MiB. */
function allMet(): SpeedResults {
  return {
    options: { quick: false, sections: new Set() } as unknown as Options,
    machine: { cpu: 'Test CPU', cores: 2, memoryBytes: 24 * GiB, node: 'v22', loadStart: [0, 0, 0], loadEnd: [0, 0, 0], date: '2026-12-02' },
    e2e: [
      e2e('sdk', 256 * MiB, 1, 14_000),
      e2e('pipeline', 256 * MiB, 1, 4_000),
      e2e('sdk', GiB, 1, 55_000),
      e2e('pipeline', GiB, 1, 10_000),
      e2e('pipeline', GiB, 2, 11_000),
      e2e('sdk', GiB, 2, 56_000),
      e2e('sdk', GiB, 3, 54_000),
      e2e('pipeline', GiB, 3, 9_500),
    ],
    sweep: [],
    cpu: [{ checkout: 'this', size: GiB, ms: 10_000, transferCpuMs: 5_000, processCpuMs: 6_000, otherCores: 0, profile: { totalMs: 1, categories: [], top: [] } }],
    hash: [hash('lambda', 1000, 850), hash('lambda', 1000, 860), hash('lambda-no-wrapper', 1000, 500)],
    cli: [
      { checkout: 'this', cache: 'warm', firstRequestMs: 600, firstRequestCpuMs: 700, totalMs: 2000 },
      { checkout: 'this', cache: 'warm', firstRequestMs: 620, firstRequestCpuMs: 710, totalMs: 2000 },
      { checkout: 'this', cache: 'cold', firstRequestMs: 900, firstRequestCpuMs: 1000, totalMs: 2000 },
      { checkout: 'before', cache: 'warm', firstRequestMs: 1700, firstRequestCpuMs: 1800, totalMs: 3000 },
    ],
    bundles: [],
    tracing: undefined,
    lambdas: {},
    batches: [batch(8 * MiB, 1, 100 * MiB), batch(8 * MiB, 8, 200 * MiB), batch(64 * MiB, 8, 700 * MiB)],
    huge: { ...e2e('pipeline', 4 * GiB, 1, 40_000), rssBytes: 300 * MiB },
    demo: { size: 4 * GiB, ms: 90_000, rssBytes: 700 * MiB, cpuMs: 60_000, otherCores: 0 },
    seconds: 60,
  };
}

function verdicts(r: SpeedResults): Record<TargetRow['key'], TargetRow> {
  return Object.fromEntries(targetVerdicts(r).map((t) => [t.key, t])) as Record<TargetRow['key'], TargetRow>;
}

function verdictsOnly(r: SpeedResults): Record<TargetRow['key'], TargetRow['verdict']> {
  return Object.fromEntries(targetVerdicts(r).map((t) => [t.key, t.verdict])) as Record<TargetRow['key'], TargetRow['verdict']>;
}

describe('targetVerdicts', () => {
  it('every target met: each row says met, with its number', () => {
    const v = verdicts(allMet());
    expect(Object.values(v).map((t) => t.verdict)).toEqual(['met', 'met', 'met', 'met', 'met', 'met']);
    expect(v.e2e.target).toContain('1 GiB');
    // Medians 55 s and 10 s: 5.50x; per run 55/10, 56/11, 54/9.5.
    expect(v.e2e.measured).toBe('5.50x (median of 3 runs each; per run 5.09–5.68x, 3 of 3 at 5x or more)');
    expect(v.cpu.measured).toBe('6.00 at 1 GiB (one size only: the fixed part and the part per byte not told apart); profiled runs only');
    expect(v.hash.measured).toBe('0.85x (without the wrapper: 0.50x)');
    expect(v.cli.measured).toBe('610 ms wall, 705 ms CPU; cold 900 ms wall, 1000 ms CPU');
    expect(v.memory.measured).toBe('3 of 3 within; 3 of 3 with the configured parts in flight at once');
    expect(v.huge.measured).toBe('700 MiB (the runner process alone: 300 MiB)');
    expect(v.huge.target).toBe('whole local pipeline, 4 GiB: < 1 GiB RSS (`s3-to-box demo`: s3rver, emulator and runner in one process)');
  });

  it('each target missed: not met', () => {
    const r = allMet();
    r.e2e = r.e2e.map((x) => (x.who === 'pipeline' && x.size === GiB ? { ...x, ms: x.ms * 1.2 } : x));
    r.cpu = [{ ...(r.cpu[0] as SpeedResults['cpu'][number]), processCpuMs: 9_000 }];
    r.hash = [hash('lambda', 1000, 790), hash('lambda', 1000, 400), hash('lambda-no-wrapper', 1000, 950)];
    r.cli = r.cli.map((x) => (x.cache === 'warm' ? { ...x, firstRequestMs: 1000 } : x));
    r.batches = [batch(8 * MiB, 1, 100 * MiB), batch(64 * MiB, 8, 1300 * MiB)];
    r.demo = { ...(r.demo as NonNullable<SpeedResults['demo']>), rssBytes: GiB };
    expect(verdictsOnly(r)).toEqual({ e2e: 'not met', cpu: 'not met', hash: 'not met', cli: 'not met', memory: 'not met', huge: 'not met' });
    expect(verdicts(r).memory.measured).toBe('1 of 2 within; 2 of 2 with the configured parts in flight at once');
  });

  it('the CLI target needs the cold start under 1 s too, when it was measured', () => {
    const r = allMet();
    r.cli = r.cli.map((x) => (x.cache === 'cold' ? { ...x, firstRequestMs: 1200 } : x));
    expect(verdicts(r).cli.verdict).toBe('not met');
    r.cli = r.cli.filter((x) => x.cache === 'warm');
    expect(verdicts(r).cli).toMatchObject({ verdict: 'met', measured: '610 ms wall, 705 ms CPU' });
    r.cli = r.cli.map((x) => ({ ...x, cache: 'cold' as const }));
    expect(verdicts(r).cli).toMatchObject({ verdict: 'not measured', measured: 'n/a; cold 610 ms wall, 705 ms CPU' });
  });

  it('the hash target is judged on the rows started as the Lambda starts, not on the ones without the wrapper', () => {
    const r = allMet();
    r.hash = [hash('lambda', 1000, 500), hash('lambda-no-wrapper', 1000, 900), hash('lambda-no-wrapper', 1000, 950)];
    expect(verdicts(r).hash.verdict).toBe('not met');
    r.hash = [hash('lambda-no-wrapper', 1000, 900)];
    expect(verdicts(r).hash.verdict).toBe('not measured');
  });

  it('the row without the wrapper is shown beside the verdict, never judged', () => {
    const r = allMet();
    r.hash = [hash('lambda', 1000, 600), hash('lambda', 1000, 620), hash('lambda-no-wrapper', 1000, 900)];
    expect(verdicts(r).hash).toMatchObject({ verdict: 'not met', measured: '0.61x (without the wrapper: 0.90x)' });
  });

  it('the end-to-end verdict is the ratio of the medians, with every run shown; one bad run does not decide it', () => {
    const r = allMet();
    r.e2e = r.e2e.map((x) => (x.who === 'pipeline' && x.size === GiB && x.rep === 2 ? { ...x, ms: 14_000 } : x));
    const v = verdicts(r).e2e;
    expect(v.verdict).toBe('met');
    expect(v.measured).toBe('5.50x (median of 3 runs each; per run 4.00–5.68x, 2 of 3 at 5x or more)');
    // Judged at the biggest size only: the 256 MiB rows (3.5x) do not count.
    expect(e2eRatio(r.e2e)).toMatchObject({ size: GiB, runs: 3 });
    // One run each (a quick run) says so.
    r.e2e = r.e2e.filter((x) => x.rep === 1);
    expect(verdicts(r).e2e).toMatchObject({ verdict: 'met', measured: '5.50x (one run each)' });
  });

  it('nothing measured: every row says not measured, never met', () => {
    const r = allMet();
    r.e2e = [];
    r.cpu = [];
    r.hash = [];
    r.cli = [];
    r.batches = [];
    r.huge = undefined;
    r.demo = undefined;
    expect(verdictsOnly(r)).toEqual({ e2e: 'not measured', cpu: 'not measured', hash: 'not measured', cli: 'not measured', memory: 'not measured', huge: 'not measured' });
  });

  it('the big pipeline is judged on the whole local pipeline (the demo process), never on the runner process alone', () => {
    const r = allMet();
    r.demo = undefined;
    expect(verdicts(r).huge).toMatchObject({ measured: 'n/a (the runner process alone: 300 MiB)', verdict: 'not measured' });
    const over = allMet();
    over.demo = { ...(over.demo as NonNullable<SpeedResults['demo']>), rssBytes: 1.5 * GiB };
    expect(verdicts(over).huge).toMatchObject({ measured: '1536 MiB (the runner process alone: 300 MiB)', verdict: 'not met' });
  });

  it('NaN, a zero time or only the other side measured: not measured, never met', () => {
    const r = allMet();
    r.e2e = [e2e('sdk', GiB, 1, 55_000)];
    r.cpu = [{ ...(r.cpu[0] as SpeedResults['cpu'][number]), processCpuMs: Number.NaN }];
    r.hash = [hash('lambda', Number.NaN, 900)];
    r.cli = [
      { checkout: 'this', cache: 'warm', firstRequestMs: Number.NaN, firstRequestCpuMs: Number.NaN, totalMs: 1 },
      { checkout: 'before', cache: 'warm', firstRequestMs: 500, firstRequestCpuMs: 500, totalMs: 1 },
    ];
    r.batches = [batch(8 * MiB, 1, Number.NaN)];
    r.demo = { ...(r.demo as NonNullable<SpeedResults['demo']>), rssBytes: Number.NaN };
    expect(verdictsOnly(r)).toEqual({ e2e: 'not measured', cpu: 'not measured', hash: 'not measured', cli: 'not measured', memory: 'not measured', huge: 'not measured' });
    // An uploader that took no time is no measurement of 5x.
    r.e2e = [e2e('sdk', GiB, 1, 55_000), e2e('pipeline', GiB, 1, 0)];
    expect(verdicts(r).e2e.verdict).toBe('not measured');
  });

  it('memory: met only with the configured parts really in flight; fewer is not measured, more is not met', () => {
    const r = allMet();
    // Within the bound, but the emulator never saw 8 parts at once: the row did not measure 8 in flight.
    r.batches = [batch(8 * MiB, 1, 100 * MiB), batch(8 * MiB, 8, 150 * MiB, 3)];
    expect(verdicts(r).memory).toEqual({
      key: 'memory',
      target: 'UploadBatch peak RSS <= 2 x part x in flight + 120 MiB, with that many parts in flight',
      measured: '2 of 2 within; 1 of 2 with the configured parts in flight at once',
      verdict: 'not measured',
    });
    // More parts at once than configured: the bound's premise is broken.
    r.batches = [batch(8 * MiB, 4, 150 * MiB, 5)];
    expect(verdicts(r).memory.verdict).toBe('not met');
    // Above the bound is not met whatever the parts in flight.
    r.batches = [batch(8 * MiB, 8, 400 * MiB, 3)];
    expect(verdicts(r).memory.verdict).toBe('not met');
  });
});

describe('the shaped hash reading (a per-connection cap in front of S3)', () => {
  const shaped = (over: Partial<ShapedHash> = {}): ShapedHash => ({
    bytesPerSecond: 64 * MiB,
    rangesInFlight: 8,
    rangeBytes: 16 * MiB,
    oneStreamMiBs: 63,
    parallelMiBs: 480,
    hashObjectMiBs: 450,
    ...over,
  });

  it('k streams against one, the share of its bound the hash reaches, and the AWS prediction for 500 GB', () => {
    // Bound here: the 8 capped streams (480 MiB/s) below the unshaped hash (700 MiB/s); 450 / 480 = 93.75 %.
    const r = shapedHashReading(shaped(), 700, 300);
    expect(r.measured).toBe(true);
    expect(r.parallelX).toBeCloseTo(480 / 63, 6);
    expect(r.efficiency).toBeCloseTo(0.9375, 6);
    // AWS with node:crypto: min(8 x 85 MB/s = 680 MB/s, 700 MiB/s = 734 MB/s) x 0.9375 = 637.5 MB/s, which hash.ts
    // keeps for an object of up to 637.5 MB/s x 435 s = 277 GB.
    expect(r.awsMBs).toBeCloseTo(637.5, 6);
    expect(r.nodeCryptoUpToGB).toBeCloseTo((637.5e6 * 435) / 1e9, 6);
    // 500 GB is past it: hash-wasm at min(680 MB/s, 300 MiB/s = 314.6 MB/s) x 0.9375 = 294.9 MB/s, 28 minutes.
    expect(r.awsMBs500GB).toBeCloseTo((0.9375 * 300 * MiB) / 1e6, 6);
    expect(r.awsMinutes500GB).toBeCloseTo(500e9 / ((0.9375 * 300 * MiB) / 1e6) / 1e6 / 60, 6);
    expect(r.oneStreamMinutes500GB).toBeCloseTo(500e9 / 85e6 / 60, 6);
    expect(r.text).toContain('the 8 capped connections');
    expect(r.text).toContain('up to about 277 GB');
    expect(r.text).toContain('500 GB does not fit and is hashed with hash-wasm');
    expect(r.text).toContain('28 minutes, against 98 minutes over one connection');
    // 480 of the 512 MiB/s the caps allow: the cap bounded them.
    expect(r.cpuBound).toBe(false);
    expect(r.text).not.toContain('bounded them, not the cap');
  });

  it('connections that carry well under k x the cap are said to be bound by the machine, not the cap', () => {
    const r = shapedHashReading(shaped({ parallelMiBs: 124, hashObjectMiBs: 112 }), 177, 150);
    expect(r.cpuBound).toBe(true);
    expect(r.text).toContain('carried 124.0 of the 512.0 MiB/s their caps allow');
  });

  it('a CPU-bound hash is judged against its own speed (the faster of its two runs), never above 100 %', () => {
    const r = shapedHashReading(shaped({ hashObjectMiBs: 380 }), 400, 250);
    expect(r.efficiency).toBeCloseTo(0.95, 6);
    // AWS: min(680 MB/s, 400 MiB/s = 419.4 MB/s) x 0.95.
    expect(r.awsMBs).toBeCloseTo((0.95 * 400 * MiB) / 1e6, 6);
    expect(r.text).toContain('its own CPU-bound speed');
    // Faster than the 8 streams measured alone (a noisy machine): 100 %, not more.
    expect(shapedHashReading(shaped({ hashObjectMiBs: 500 }), 700, 250).efficiency).toBe(1);
    // A busier unshaped run (slower than the shaped one) does not drag the prediction below what was measured.
    const busy = shapedHashReading(shaped({ parallelMiBs: 124, hashObjectMiBs: 82 }), 48, 40);
    expect(busy.awsMBs).toBeCloseTo((82 * MiB) / 1e6, 6);
  });

  it('a hash that reads one connection at a time reads as what it is: one stream\'s speed, the AWS figure capped likewise', () => {
    const r = shapedHashReading(shaped({ hashObjectMiBs: 63 }), 700, 250);
    expect(r.efficiency).toBeCloseTo(63 / 480, 6);
    expect(r.awsMinutes500GB).toBeGreaterThan(80);
  });

  it('missing or NaN readings are "not measured", never a prediction', () => {
    expect(shapedHashReading(undefined, 700, 250)).toMatchObject({ measured: false, text: expect.stringContaining('not measured') });
    for (const bad of [shaped({ parallelMiBs: Number.NaN }), shaped({ oneStreamMiBs: 0 }), shaped({ hashObjectMiBs: Number.NaN })]) {
      const r = shapedHashReading(bad, 700, 250);
      expect(r.measured).toBe(false);
      expect(Number.isNaN(r.awsMinutes500GB)).toBe(true);
      expect(r.text).toContain('not measured');
    }
    expect(shapedHashReading(shaped(), Number.NaN, 250).measured).toBe(false);
    expect(shapedHashReading(shaped(), 700, Number.NaN).measured).toBe(false);
  });

  it('renders the row of the run that measured it, and says so when none did', () => {
    const row: HashRow = { ...hash('lambda', 1000, 700), shaped: shaped(), cpuList: '1', memoryMb: 1769 };
    const text = renderShapedHash([hash('lambda', 1000, 700), row]);
    expect(text).toContain('64 MiB/s');
    expect(text).toContain('pinned to CPU 1');
    expect(text).toContain('| 480.0 |');
    expect(renderShapedHash([hash('lambda', 1000, 700)])).toContain('not measured');
  });
});
