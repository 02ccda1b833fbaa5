import { describe, expect, it } from 'vitest';
import { BATCH_START_ROUNDS, batchParts, planBatches, slotRounds } from '../../src/transfer/plan.ts';
import type { TransferSettings } from '../../src/transfer/settings.ts';
import { DEFAULT_SETTINGS, resolveSettings } from '../../src/transfer/settings.ts';

const MiB = 1024 * 1024;

describe('planBatches', () => {
  it('keeps a 10,000-part file to at most maxBatches batches, whatever the part size', () => {
    for (const partSize of [1024, 8 * MiB, 64 * MiB]) {
      for (const concurrency of [1, 8, 160, 1000]) {
        const plan = planBatches(10_000, partSize, concurrency, DEFAULT_SETTINGS);
        expect(plan.batches.length).toBeLessThanOrEqual(DEFAULT_SETTINGS.maxBatches);
        expect(plan.batches.length * plan.partsPerBatch).toBeGreaterThanOrEqual(10_000);
        expect((plan.batches.length - 1) * plan.partsPerBatch).toBeLessThan(10_000);
        expect(plan.mapConcurrency).toBeLessThanOrEqual(40);
        expect(plan.mapConcurrency * plan.partsInFlight).toBeLessThanOrEqual(concurrency);
        // The Prepare result carries one small integer per batch: far below 256 KiB.
        expect(JSON.stringify(plan.batches).length).toBeLessThan(4 * 1024);
      }
    }
  });

  it('derives parts in flight and map concurrency from the total concurrency', () => {
    expect(planBatches(100, 8 * MiB, 8, DEFAULT_SETTINGS)).toMatchObject({ partsInFlight: 4, mapConcurrency: 2 });
    expect(planBatches(100, 8 * MiB, 6, DEFAULT_SETTINGS)).toMatchObject({ partsInFlight: 3, mapConcurrency: 2 });
    expect(planBatches(100, 8 * MiB, 5, DEFAULT_SETTINGS)).toMatchObject({ partsInFlight: 2, mapConcurrency: 2 });
    expect(planBatches(100, 8 * MiB, 1, DEFAULT_SETTINGS)).toMatchObject({ partsInFlight: 1, mapConcurrency: 1 });
    expect(planBatches(10_000, 8 * MiB, 1000, DEFAULT_SETTINGS)).toMatchObject({ partsInFlight: 4, mapConcurrency: 40 });
  });

  it('caps the bytes of a batch so one invocation stays inside Lambda time', () => {
    const plan = planBatches(10_000, 64 * MiB, 8, DEFAULT_SETTINGS);
    expect(plan.partsPerBatch * 64 * MiB).toBeLessThanOrEqual(DEFAULT_SETTINGS.maxBatchBytes);
  });

  it('honours a requested partsPerBatch but raises it to the history budget', () => {
    expect(planBatches(1000, 8 * MiB, 8, DEFAULT_SETTINGS, 3).partsPerBatch).toBe(3);
    expect(planBatches(10_000, 8 * MiB, 8, DEFAULT_SETTINGS, 1).partsPerBatch).toBe(20);
    const custom = resolveSettings({ maxBatches: 10 });
    expect(planBatches(100, 8 * MiB, 8, custom, 2).partsPerBatch).toBe(10);
  });

  it('1 GiB of 12 MiB parts at concurrency 8: one batch per Map slot, 11 rounds each, the fewest 8 connections allow', () => {
    const plan = planBatches(86, 12 * MiB, 8, DEFAULT_SETTINGS);
    expect(plan).toMatchObject({ mapConcurrency: 2, partsInFlight: 4, partsPerBatch: 43 });
    expect(plan.batches).toEqual([0, 1]);
    expect(slotRounds(86, plan)).toEqual([11, 11]);
    // The plan before: 8 batches of 11 parts, 3 rounds each with the last a quarter idle: 12 rounds per slot.
    expect(slotRounds(86, { ...plan, partsPerBatch: 11, batches: [...Array(8).keys()] })).toEqual([12, 12]);
  });

  it('keeps several batches per slot where they cost no rounds: 160 parts of 64 MiB at 8, the time cap allowing 32 per batch', () => {
    // 5 batches of 32 would leave one slot 3 batches (24 rounds); 8 of 20 give both slots 20 rounds, the fewest possible.
    const plan = planBatches(160, 64 * MiB, 8, DEFAULT_SETTINGS);
    expect(plan).toMatchObject({ partsPerBatch: 20, mapConcurrency: 2, partsInFlight: 4 });
    expect(slotRounds(160, plan)).toEqual([20, 20]);
  });

  it('tries batches of whole rounds: 258 parts of 8 MiB at concurrency 2, the time cap (256 parts) forcing 2 batches', () => {
    // Split evenly, 129 + 129 parts at 2 in flight take 65 + 65 rounds (each batch's last round half idle);
    // 130 + 128 take 65 + 64.
    const plan = planBatches(258, 8 * MiB, 2, DEFAULT_SETTINGS);
    expect(plan).toMatchObject({ mapConcurrency: 1, partsInFlight: 2, partsPerBatch: 130 });
    expect(slotRounds(258, plan)).toEqual([129]);
    expect(slotRounds(258, { ...plan, partsPerBatch: 129 })).toEqual([130]);
  });

  it('over every size, concurrency and part size: within the budgets, never more rounds than the plan of fixed batchesPerMapSlot', () => {
    /** The plan before batch sizes were chosen by their rounds: about batchesPerMapSlot batches per slot. */
    const fixedSpread = (totalParts: number, partSize: number, concurrency: number, settings: TransferSettings) => {
      const plan = planBatches(totalParts, partSize, concurrency, settings, 1);
      const maxForTime = Math.max(1, Math.floor(settings.maxBatchBytes / partSize));
      const forSpread = Math.ceil(totalParts / (plan.mapConcurrency * settings.batchesPerMapSlot));
      const partsPerBatch = Math.max(Math.ceil(totalParts / settings.maxBatches), Math.min(maxForTime, Math.max(plan.partsInFlight, forSpread), totalParts));
      return { ...plan, partsPerBatch, batches: [...Array(Math.ceil(totalParts / partsPerBatch)).keys()] };
    };
    /** The busiest slot's time in the plan's own model: rounds plus BATCH_START_ROUNDS per batch. */
    const busiest = (totalParts: number, plan: ReturnType<typeof fixedSpread>) => {
      const slots = Array.from({ length: plan.mapConcurrency }, () => 0);
      for (const b of plan.batches) {
        const i = slots.indexOf(Math.min(...slots));
        slots[i] = (slots[i] as number) + Math.ceil(Math.min(plan.partsPerBatch, totalParts - b * plan.partsPerBatch) / plan.partsInFlight) + BATCH_START_ROUNDS;
      }
      return Math.max(...slots);
    };
    for (const partSize of [8 * MiB, 12 * MiB, 64 * MiB, 128 * MiB]) {
      for (const concurrency of [1, 2, 3, 4, 6, 8, 16, 40, 160]) {
        for (const totalParts of [1, 2, 3, 5, 22, 86, 90, 100, 343, 1000, 4097, 10_000]) {
          const what = `${totalParts} parts of ${partSize / MiB} MiB at ${concurrency}`;
          const plan = planBatches(totalParts, partSize, concurrency, DEFAULT_SETTINGS);
          const all = plan.batches.flatMap((b) => batchParts(b, plan.partsPerBatch, { partSize, totalParts }, totalParts * partSize));
          expect(all.map((p) => p.index), what).toEqual([...Array(totalParts).keys()]);
          expect(plan.batches.length, what).toBeLessThanOrEqual(DEFAULT_SETTINGS.maxBatches);
          const minForBudget = Math.ceil(totalParts / DEFAULT_SETTINGS.maxBatches);
          expect(plan.partsPerBatch * partSize, what).toBeLessThanOrEqual(Math.max(DEFAULT_SETTINGS.maxBatchBytes, minForBudget * partSize));
          expect(plan.batches.length, what).toBeLessThanOrEqual(Math.max(plan.mapConcurrency * DEFAULT_SETTINGS.batchesPerMapSlot, Math.ceil((totalParts * partSize) / DEFAULT_SETTINGS.maxBatchBytes)));
          const before = fixedSpread(totalParts, partSize, concurrency, DEFAULT_SETTINGS);
          expect(busiest(totalParts, plan), what).toBeLessThanOrEqual(busiest(totalParts, before) + 1e-9);
        }
      }
    }
  });

  it('covers every part exactly once, the last part short', () => {
    const size = 10 * 1000 + 7;
    const session = { partSize: 1000, totalParts: 11 };
    const plan = planBatches(11, 1000, 8, DEFAULT_SETTINGS, 4);
    const all = plan.batches.flatMap((b) => batchParts(b, plan.partsPerBatch, session, size));
    expect(all.map((p) => p.index)).toEqual([...Array(11).keys()]);
    expect(all.at(-1)).toEqual({ index: 10, offset: 10_000, size: 7 });
    expect(all.reduce((n, p) => n + p.size, 0)).toBe(size);
  });
});
