// CPU per GiB of the runner process at two sizes: the fit (fixed + per GiB), the verdict at every size, the
// profile's "before the transfer started" share, and a record of earlier runs with one size only.
import { describe, expect, it } from 'vitest';
import { emptyResults } from './results.ts';
import { cpuFit, cpuTarget, renderCpu, startupCpuS } from '../../bench/cpu.ts';
import { breakdown } from '../../bench/profile.ts';
import type { CpuProfile } from '../../bench/profile.ts';
import { options, renderSpeed, targetVerdicts } from '../../bench/speed.ts';
import type { CpuRun, SpeedResults } from '../../bench/speed.ts';
import { EMPTY_RECORD, recordRun, withEarlier } from '../../bench/speed-record.ts';
import type { Section } from '../../bench/speed-record.ts';

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

function run(checkout: CpuRun['checkout'], size: number, processCpuS: number, startupMs?: number): CpuRun {
  return {
    checkout,
    size,
    ms: 5000,
    transferCpuMs: processCpuS * 800,
    processCpuMs: processCpuS * 1000,
    otherCores: 0.1,
    profile: { totalMs: 1000, categories: [{ category: 'garbage collection', ms: 100 }], top: [], ...(startupMs === undefined ? {} : { startupMs }) },
  };
}

describe('cpuFit', () => {
  it('tells the fixed part from the part per GiB with two sizes', () => {
    // 1.7 s fixed + 3.9 s per GiB: 2.675 s at 256 MiB, 5.6 s at 1 GiB.
    const f = cpuFit([run('this', 256 * MiB, 2.675), run('this', GiB, 5.6), run('before', GiB, 9)], 'this');
    expect(f?.fixedS).toBeCloseTo(1.7, 9);
    expect(f?.perGiBS).toBeCloseTo(3.9, 9);
    expect(f?.sizes).toEqual([256 * MiB, GiB]);
  });

  it('cannot with one size, nor for a checkout not measured', () => {
    expect(cpuFit([run('this', GiB, 5), run('this', GiB, 5.2)], 'this')).toBeUndefined();
    expect(cpuFit([run('this', 256 * MiB, 2), run('this', GiB, 5)], 'before')).toBeUndefined();
  });
});

describe('judged as a user runs it', () => {
  it('takes the run without the profiler for the CPU per GiB, the fit and the verdict, and shows the profiled one beside', () => {
    // Under the profiler 2.2 s at 256 MiB (8.8 per GiB); without it 1.9 s (7.6): met on the run without.
    const plain = (x: CpuRun, processCpuS: number): CpuRun => ({ ...x, unprofiled: { ms: 4000, processCpuMs: processCpuS * 1000, otherCores: 0.05 } });
    const runs = [plain(run('this', 256 * MiB, 2.2, 300), 1.9), plain(run('this', GiB, 5.2), 4.6)];
    expect(cpuTarget(runs).value).toBeCloseTo(7.6, 9);
    expect(cpuTarget(runs).measured).toContain('; without the profiler (under `node --cpu-prof`: 8.80 at 256 MiB; 5.20 at 1 GiB)');
    expect(cpuFit(runs, 'this')?.perGiBS).toBeCloseTo((4.6 - 1.9) / 0.75, 9);
    const text = renderCpu(runs).join('\n');
    expect(text).toContain('| this one | 256 MiB | 4.00 | 1.90 | **7.60** | 8.80 | 0.66 | 7.04 | 0.05 |');
    expect(text).toContain('Each size runs twice per checkout');
    const r = speedResults(runs);
    expect(targetVerdicts(r).find((t) => t.key === 'cpu')?.verdict).toBe('met');
    // The same runs judged on the profiled figures would not be.
    expect(targetVerdicts(speedResults(runs.map(({ unprofiled: _u, ...x }) => x))).find((t) => t.key === 'cpu')?.verdict).toBe('not met');
  });
});

describe('cpuTarget', () => {
  it('is judged at the smallest size too: 1 GiB under 8 does not make 256 MiB under 8', () => {
    const t = cpuTarget([run('this', 256 * MiB, 2.675), run('this', GiB, 5.6)]);
    expect(t.value).toBeCloseTo(10.7, 9);
    expect(t.measured).toBe('10.70 at 256 MiB; 5.60 at 1 GiB (fit: 1.70 CPU-s fixed + 3.90 CPU-s per GiB); profiled runs only');
  });

  it('takes only this checkout, and says when one size could not split fixed from per byte', () => {
    const t = cpuTarget([run('before', 256 * MiB, 9), run('this', GiB, 4.82)]);
    expect(t.value).toBeCloseTo(4.82, 9);
    expect(t.measured).toBe('4.82 at 1 GiB (one size only: the fixed part and the part per byte not told apart); profiled runs only');
    expect(cpuTarget([run('before', GiB, 4)]).value).toBeNaN();
  });

  it('decides the CPU verdict of the speed targets', () => {
    const r = speedResults([run('this', 256 * MiB, 1.9), run('this', GiB, 5)]);
    expect(targetVerdicts(r).find((t) => t.key === 'cpu')).toMatchObject({ verdict: 'met', measured: expect.stringContaining('7.60 at 256 MiB; 5.00 at 1 GiB') });
    r.cpu = [run('this', 256 * MiB, 2.1), run('this', GiB, 5)];
    expect(targetVerdicts(r).find((t) => t.key === 'cpu')?.verdict).toBe('not met');
    r.cpu = [];
    expect(targetVerdicts(r).find((t) => t.key === 'cpu')).toMatchObject({ verdict: 'not measured', measured: 'n/a' });
  });
});

describe('the profile breakdown', () => {
  it('counts the busy samples before the first one inside startExecution as before the transfer started', () => {
    // main -> load (module loading), main -> startExecution -> work; samples 10 ms apart.
    const profile: CpuProfile = {
      nodes: [
        { id: 1, callFrame: { functionName: '(root)', url: '' }, children: [2, 3, 6] },
        { id: 2, callFrame: { functionName: 'compileSourceTextModule', url: 'node:internal/modules/esm/utils' } },
        { id: 3, callFrame: { functionName: 'startExecution', url: 'file:///x/local/runner/execution.ts' }, children: [4] },
        { id: 4, callFrame: { functionName: 'update', url: 'node:internal/crypto/hash' } },
        { id: 6, callFrame: { functionName: '(idle)', url: '' } },
      ],
      samples: [2, 6, 2, 4, 2, 4, 4],
      timeDeltas: [0, 10_000, 10_000, 10_000, 10_000, 10_000, 10_000],
      startTime: 0,
      endTime: 70_000,
    };
    const b = breakdown(profile);
    // Busy: 6 samples, the last one's delta unknown (0): 50 ms; before the start: the two loading samples, 20 ms.
    expect(b.totalMs).toBe(50);
    expect(b.startupMs).toBe(20);
    expect(startupCpuS({ ...run('this', GiB, 2), profile: b })).toBeCloseTo(0.8, 9);
  });

  it('has no start-up share when nothing in it started a transfer (and records of earlier runs have none)', () => {
    const b = breakdown({ nodes: [{ id: 1, callFrame: { functionName: 'f', url: '' } }], samples: [1, 1], timeDeltas: [0, 1000], startTime: 0, endTime: 2000 });
    expect(b.startupMs).toBeUndefined();
    expect(startupCpuS(run('this', GiB, 2))).toBeUndefined();
  });
});

function speedResults(cpu: CpuRun[]): SpeedResults {
  return { ...emptyResults(['--only', 'speed', '--sections', 'cpu']), cpu };
}

describe('rendering', () => {
  it('shows both sizes, the fit and the start-up share, with the 256 MiB row beside the issue\'s figure', () => {
    const text = renderCpu([run('before', 256 * MiB, 2.8, 400), run('this', 256 * MiB, 1.9, 300), run('before', GiB, 5.6, 350), run('this', GiB, 4.4, 250)]).join('\n');
    expect(text).toContain('| before (earlier commit) | 256 MiB | 5.00 | 2.80 | **11.20** | 11.20 | 1.12 | 8.96 | 0.10 |');
    expect(text).toContain('| this one | 256 MiB | 5.00 | 1.90 | **7.60** | 7.60 | 0.57 | 6.08 | 0.10 |');
    expect(text).toContain('measured under `node --cpu-prof` only');
    expect(text).toContain('before: 1.87 CPU-s fixed + 3.73 CPU-s per GiB; this one: 1.07 CPU-s fixed + 3.33 CPU-s per GiB');
    expect(text).toContain("The 256 MiB row is the like-for-like with the issue's own figure");
    expect(text).toContain('| *before the transfer started (all categories)* | 40.0 % | 30.0 % | 35.0 % | 25.0 % |');
    expect(text).not.toContain('By thread');
    const threads = renderCpu([{ ...run('this', 256 * MiB, 1.9), threadCpuMs: { main: 1500, 'V8 workers': 300, 'CPU profiler': 100, 'libuv pool': 0 } }]).join('\n');
    expect(threads).toContain('this one, 256 MiB: main 1.50, V8 workers 0.30, CPU profiler 0.10.');
  });

  it('renders a record of earlier runs (one size, no start-up share) that a partial run shows', () => {
    // An earlier run's record: the CPU rows at 1 GiB only, profiles without startupMs.
    const earlier = speedResults([run('before', GiB, 5.3), run('this', GiB, 4.82)]);
    earlier.options = options(['--before', '/some/checkout']);
    const record = recordRun(EMPTY_RECORD, earlier, new Set<Section>(['cpu']));
    const stored = JSON.parse(JSON.stringify(record)) as typeof record;
    const partial = speedResults([]);
    partial.options = options(['--only', 'speed', '--sections', 'hash']);
    const merged = withEarlier(partial, new Set<Section>(['hash']), stored);
    expect(merged.cpu).toHaveLength(2);
    const text = renderSpeed(merged, []);
    expect(text).toContain('### CPU per GiB of the runner process (pipeline on loopback, 1 GiB, concurrency 8');
    expect(text).toContain('| this one | 1 GiB | 5.00 | 4.82 | **4.82** | 4.82 | n/a |');
    expect(text).toContain('**One size only** (1 GiB)');
    expect(text).toMatch(/\| CPU per GiB of the runner process[^|]*\| 4\.82 at 1 GiB \(one size only[^|]*\| met \| earlier run/);
  });

  it('carries the rows of both sizes through the record', () => {
    const both = speedResults([run('this', 256 * MiB, 1.9, 300), run('this', GiB, 4.4, 250)]);
    const record = JSON.parse(JSON.stringify(recordRun(EMPTY_RECORD, both, new Set<Section>(['cpu'])))) as ReturnType<typeof recordRun>;
    const merged = withEarlier(speedResults([]), new Set<Section>(['hash']), record);
    expect(merged.cpu.map((x) => [x.size, x.profile.startupMs])).toEqual([
      [256 * MiB, 300],
      [GiB, 250],
    ]);
    expect(renderSpeed(merged, [])).toContain('(pipeline on loopback, 256 MiB and 1 GiB, concurrency 8');
  });
});
