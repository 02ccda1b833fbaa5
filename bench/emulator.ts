// The Box emulator as the benches use it: a fresh one per measurement, its files in a folder of its own
// under `root` that goes with it, so stored uploads do not pile up (page cache, writeback) under later runs.
import { mkdtemp, rm } from 'node:fs/promises';
import path from 'node:path';
import { startBoxEmulator } from '../local/box-emulator/index.ts';
import type { BoxEmulator, BoxEmulatorOptions } from '../local/box-emulator/index.ts';
import type { EmulatorTarget } from './sdk.ts';

export async function withEmulator<T>(root: string, options: BoxEmulatorOptions, use: (box: BoxEmulator) => Promise<T>): Promise<T> {
  const dataDir = await mkdtemp(path.join(root, 'box-emulator-'));
  try {
    const box = await startBoxEmulator({ ...options, dataDir });
    try {
      return await use(box);
    } finally {
      await box.close();
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

/** Where a Box client (ours or the official SDK) finds the emulator. */
export function emulatorTarget(box: BoxEmulator): EmulatorTarget {
  return { apiUrl: box.url, uploadUrl: box.uploadUrl, token: box.token };
}
