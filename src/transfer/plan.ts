// Part and batch planning. Box fixes the part size; we choose how parts are grouped into
// UploadBatch invocations (Map items) and how many run at once.
import type { PlannedPart } from '../box/helpers.ts';
import type { SessionRef } from './contract.ts';
import type { TransferSettings } from './settings.ts';

/** Number of parts Box expects for a file of `size` bytes cut into `partSize` parts (the client's rule). */

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
 * Splits `totalParts` into batches, and splits `concurrency` into Map slots x parts in flight per slot.
 * - never more than `maxBatches` batches (history budget: ~7 events per Map item);
 * - a batch holds at most `maxBatchBytes` (one invocation must finish inside Lambda's 15 minutes),
 *   unless the batch budget forces more;
 * - otherwise about `batchesPerMapSlot` batches per Map slot, so slow batches do not hold the tail.
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
  let wanted: number;
  if (requestedPartsPerBatch !== undefined) {
    wanted = requestedPartsPerBatch;
  } else {
    const maxForTime = Math.max(1, Math.floor(settings.maxBatchBytes / partSize));
    const forSpread = Math.ceil(totalParts / (mapConcurrency * settings.batchesPerMapSlot));
    wanted = Math.min(maxForTime, Math.max(partsInFlight, forSpread));
  }
  const partsPerBatch = Math.max(minForBudget, Math.min(wanted, Math.max(1, totalParts)));
  const count = totalParts === 0 ? 0 : Math.ceil(totalParts / partsPerBatch);
  return { partsPerBatch, partsInFlight, mapConcurrency, batches: Array.from({ length: count }, (_, i) => i) };
}
