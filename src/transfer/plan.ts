// Part and batch planning. Box fixes the part size; we choose how parts are grouped into
// UploadBatch invocations (Map items) and how many run at once.
import type { PlannedPart } from '../box/helpers.ts';
import type { SessionRef } from './contract.ts';
import type { TransferSettings } from './settings.ts';

/** One part: index, first byte, bytes (the last one may be shorter). */
export type PartRange = PlannedPart;

export interface BatchPlan {
  partsPerBatch: number;
  partsInFlight: number;
  mapConcurrency: number;
  batches: number[];
}

export function partRange(index: number, partSize: number, size: number): PartRange {
  const offset = index * partSize;
  return { index, offset, size: Math.min(partSize, size - offset) };
}

/** The parts of batch `batch`: [b*partsPerBatch, min((b+1)*partsPerBatch, totalParts)). */
export function batchParts(batch: number, partsPerBatch: number, session: Pick<SessionRef, 'partSize' | 'totalParts'>, size: number): PartRange[] {
  const first = batch * partsPerBatch;
  const last = Math.min(first + partsPerBatch, session.totalParts);
  const parts: PartRange[] = [];
  for (let i = first; i < last; i++) parts.push(partRange(i, session.partSize, size));
  return parts;
}

/**
 * Parts one UploadBatch invocation reads ahead of its PUTs: `partsReadAhead`, at most (partsInFlight - 1) / 2,
 * so that it never holds more than 1.5 x partsInFlight parts (the memory target allows 2 x plus the process's
 * own 120 MiB, which one or two parts in flight would eat into): none with one or two parts in flight.
 */
export function partsReadAheadOf(partsInFlight: number, settings: Pick<TransferSettings, 'partsReadAhead'>): number {
  return Math.max(0, Math.min(settings.partsReadAhead, Math.floor((partsInFlight - 1) / 2)));
}

/**
 * What a batch costs its Map slot beyond its rounds of parts, in rounds (one part's time on the link): the
 * invocation, the first parts' GETs and digests before any PUT, and the drain of its last round (the next
 * batch starts only when every part of this one is stored). Measured on the shaped link of the bench
 * (25 MiB/s per connection, 12 MiB parts): about 0.3 s between batches where a part round takes 0.6 s.
 */
export const BATCH_START_ROUNDS = 0.5;

/**
 * Rounds of part uploads in each Map slot when the Map runs the plan's batches (`partsPerBatch` parts, the last
 * one short) `mapConcurrency` at a time, each batch `partsInFlight` parts at a time, every part taking the same
 * time: a batch goes to the slot that frees first, as a Map starts its next item when one ends. With
 * `startRounds`, each batch also costs its slot that many rounds (BATCH_START_ROUNDS).
 */
export function slotRounds(
  totalParts: number,
  plan: Pick<BatchPlan, 'partsPerBatch' | 'partsInFlight' | 'mapConcurrency'> & { batches: readonly number[] },
  startRounds = 0,
): number[] {
  const slots = Array.from({ length: Math.max(1, plan.mapConcurrency) }, () => 0);
  for (const batch of plan.batches) {
    const parts = Math.min(plan.partsPerBatch, totalParts - batch * plan.partsPerBatch);
    let free = 0;
    for (let i = 1; i < slots.length; i++) if ((slots[i] as number) < (slots[free] as number)) free = i;
    slots[free] = (slots[free] as number) + Math.ceil(parts / plan.partsInFlight) + startRounds;
  }
  return slots;
}

/**
 * Splits `totalParts` into batches, and splits `concurrency` into Map slots x parts in flight per slot.
 * - never more than `maxBatches` batches (history budget: ~7 events per Map item);
 * - a batch holds at most `maxBatchBytes` (one invocation must finish inside Lambda's 15 minutes),
 *   unless the batch budget forces more;
 * - at most about `batchesPerMapSlot` batches per Map slot; among those batch sizes, the one whose busiest Map
 *   slot finishes first (rounds of parts plus BATCH_START_ROUNDS per batch, slotRounds' model), the most
 *   batches among equals (a slow batch then holds less of the tail). Batches of a whole number of rounds
 *   (a multiple of the parts in flight) are among the sizes tried: a batch whose last round is partly idle
 *   costs its slot a whole round.
 * An explicit `requestedPartsPerBatch` is honoured but raised to the budget minimum.
 */
export function planBatches(
  totalParts: number,
  partSize: number,
  concurrency: number,
  settings: TransferSettings,
  requestedPartsPerBatch?: number,
): BatchPlan {
  // Map slots x parts per slot never exceeds `concurrency` (e.g. 6 -> 2 x 3, not 2 x 4).
  const perSlot = Math.max(1, Math.min(settings.partsInFlightPerBatch, concurrency));
  const mapConcurrency = Math.max(1, Math.min(settings.maxMapConcurrency, Math.ceil(concurrency / perSlot)));
  const partsInFlight = Math.max(1, Math.min(perSlot, Math.floor(concurrency / mapConcurrency)));
  const minForBudget = Math.max(1, Math.ceil(totalParts / settings.maxBatches));
  const parts = Math.max(1, totalParts);
  let wanted: number;
  if (requestedPartsPerBatch !== undefined) {
    wanted = requestedPartsPerBatch;
  } else {
    const maxForTime = Math.max(1, Math.floor(settings.maxBatchBytes / partSize));
    // From the fewest batches the time cap allows to batchesPerMapSlot per slot (no batch smaller than its parts in flight).
    const cap = Math.max(maxForTime, minForBudget);
    const fewest = Math.ceil(parts / cap);
    const most = Math.max(fewest, Math.min(Math.ceil(parts / partsInFlight), mapConcurrency * settings.batchesPerMapSlot));
    const shape = { mapConcurrency, partsInFlight };
    // For each batch count: the even split, the largest size that still gives that count (a short last batch,
    // which fills a slot's gap), and each rounded to whole rounds; and the plan of batchesPerMapSlot batches per slot.
    const sizes = new Set<number>([Math.min(maxForTime, Math.max(partsInFlight, Math.ceil(parts / (mapConcurrency * settings.batchesPerMapSlot))))]);
    for (let count = fewest; count <= most; count++) {
      for (const size of [Math.ceil(parts / count), count > 1 ? Math.floor((parts - 1) / (count - 1)) : parts]) {
        sizes.add(size);
        sizes.add(Math.ceil(size / partsInFlight) * partsInFlight);
        sizes.add(Math.max(partsInFlight, Math.floor(size / partsInFlight) * partsInFlight));
      }
    }
    let best: { size: number; rounds: number; count: number } | undefined;
    for (const size of sizes) {
      if (size > cap || size < minForBudget || size > parts) continue;
      const batches = Math.ceil(parts / size);
      if (batches > most) continue;
      const rounds = Math.max(...slotRounds(parts, { ...shape, partsPerBatch: size, batches: [...Array(batches).keys()] }, BATCH_START_ROUNDS));
      // Equal within a rounding error: the plan with more batches wins, then the smaller size.
      const better =
        best === undefined ||
        rounds < best.rounds - 1e-9 ||
        (Math.abs(rounds - best.rounds) <= 1e-9 && (batches > best.count || (batches === best.count && size < best.size)));
      if (better) best = { size, rounds, count: batches };
    }
    wanted = best?.size ?? Math.min(maxForTime, parts);
  }
  const partsPerBatch = Math.max(minForBudget, Math.min(wanted, parts));
  const count = totalParts === 0 ? 0 : Math.ceil(totalParts / partsPerBatch);
  return { partsPerBatch, partsInFlight, mapConcurrency, batches: Array.from({ length: count }, (_, i) => i) };
}
