// What the PlanSync-at-its-cap rows of the bulk bench say from their numbers: the vCPU share of the
// function's memory, the CPU-bound seconds in Lambda, and whether they fit its memory and timeout.
import { describe, expect, it } from 'vitest';
import { inLambda, renderManifestCheck } from '../../bench/manifest-check.ts';
import type { ManifestCheckRow } from '../../bench/manifest-check.ts';

const MiB = 1024 * 1024;
const row = (more: Partial<ManifestCheckRow> = {}): ManifestCheckRow => ({
  format: 'jsonl',
  keys: 1_000_000,
  manifestBytes: 62 * MiB,
  memoryMb: 512,
  timeoutSeconds: 60,
  seconds: 2,
  cpuSeconds: 1.8,
  idleRssBytes: 76 * MiB,
  peakRssBytes: 170 * MiB,
  ...more,
});

describe('inLambda', () => {
  it('divides the CPU seconds by the vCPU share of the memory (one vCPU at 1,769 MB, never more than one counted)', () => {
    expect(inLambda(row()).vcpus).toBeCloseTo(512 / 1769, 9);
    expect(inLambda(row()).seconds).toBeCloseTo(1.8 / (512 / 1769), 9);
    expect(inLambda(row({ memoryMb: 3008 })).vcpus).toBe(1);
  });

  it('fits only within both the timeout and the memory', () => {
    expect(inLambda(row())).toMatchObject({ fitsTimeout: true, fitsMemory: true });
    // 256 MB: 0.145 vCPU, 12.4 s; 270 MiB peak is past 256 MiB.
    expect(inLambda(row({ memoryMb: 256, peakRssBytes: 270 * MiB }))).toMatchObject({ fitsTimeout: true, fitsMemory: false });
    expect(inLambda(row({ memoryMb: 256, cpuSeconds: 9 }))).toMatchObject({ fitsTimeout: false, fitsMemory: true });
  });
});

describe('renderManifestCheck', () => {
  it('shows a row per format and says which limit a row misses', () => {
    const text = renderManifestCheck([row(), row({ format: 'csv', memoryMb: 256, cpuSeconds: 9, peakRssBytes: 300 * MiB })]);
    expect(text).toContain('### PlanSync at its cap: a manifest of 1,000,000 keys checked for keys listed twice');
    expect(text).toContain('| jsonl | 1,000,000 | 62 MiB | 2.0 | 1.80 | 76 MiB | 170 MiB | 512 MB | 6 | 60 s | yes |');
    expect(text).toContain('| csv | 1,000,000 | 62 MiB | 2.0 | 9.00 | 76 MiB | 300 MiB | 256 MB | 62 | 60 s | **no** (memory, timeout) |');
    expect(renderManifestCheck([])).toBe('');
  });
});
