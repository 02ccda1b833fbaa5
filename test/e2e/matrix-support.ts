// The set-up the fault-matrix rows share (test/e2e/matrix.test.ts, test/e2e/box-answers.test.ts): a small
// chunked object, an environment per test closed after it, the sessions a row leaves behind, and a transfer
// whose bytes in Box are checked.
import { afterEach, expect } from 'vitest';
import type { BoxEmulatorOptions } from '../../local/box-emulator/index.ts';
import type { BoxClient } from '../../src/box/index.ts';
import type { TransferSettings } from '../../src/transfer/settings.ts';
import { sha1OfStream } from '../support/streams.ts';
import { inputFor, startEnv } from './harness.ts';
import type { E2eEnv } from './harness.ts';

export const partSize = 64 * 1024;
export const SIZE = 6 * partSize + 100; // 7 parts

/** A set-up for each test of the file that calls this: the emulator with 64 KiB parts, closed after the test. */
export function matrixSetUp(): (emulator?: BoxEmulatorOptions, settings?: Partial<TransferSettings>) => Promise<E2eEnv> {
  let env: E2eEnv | undefined;
  afterEach(async () => {
    await env?.close();
    env = undefined;
  });
  return async (emulator = {}, settings = {}) => {
    env = await startEnv({ emulator: { partSize, minChunkedFileSize: 100_000, ...emulator }, settings: { directUploadMax: 100_000, ...settings } });
    return env;
  };
}

/** Upload sessions by status, e.g. { committed: 1 }: what a row leaves behind in Box. */
export function sessionsByStatus(e: E2eEnv): Record<string, number> {
  const out: Record<string, number> = {};
  for (const s of e.box.listSessions()) out[s.status] = (out[s.status] ?? 0) + 1;
  return out;
}

/** Runs `key` (SIZE bytes) into a fresh folder and checks the bytes Box holds (read through `reader`). */
export async function transfersExactly(
  e: E2eEnv,
  key: string,
  options: Parameters<E2eEnv['start']>[1] = {},
  input: Parameters<typeof inputFor>[2] = {},
  reader: BoxClient = e.client,
) {
  const folder = await e.box.createFolder(`folder-${key}`);
  const put = await e.put(key, SIZE);
  const execution = e.start(inputFor(key, folder.id, input), options);
  const output = await execution.result;
  expect(output).toMatchObject({ bytes: SIZE, file: { sha1: put.sha1 } });
  expect(await sha1OfStream(await reader.files.downloadFile(output.file.id))).toEqual({ sha1: put.sha1, size: SIZE });
  return { execution, output, folder };
}
