// The bench's source files, and the byte-exact check of what Box (the emulator) stored: the file is
// downloaded over HTTP and its SHA-1 compared with the source's.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { open, rm } from 'node:fs/promises';
import path from 'node:path';
import { finished } from 'node:stream/promises';
import { Agent, request } from 'undici';
import { generatedBytes } from '../local/runner/index.ts';
import type { EmulatorTarget } from './sdk.ts';

export interface SourceFile {
  path: string;
  size: number;
  sha1: string;
}

/** Writes `size` deterministic incompressible bytes (streamed) and returns their SHA-1. */
export async function writeSourceFile(dir: string, size: number, seed: string): Promise<SourceFile> {
  const file = path.join(dir, `${seed}.bin`);
  const out = createWriteStream(file);
  const hash = createHash('sha1');
  for await (const chunk of generatedBytes(size, seed, 4 * 1024 * 1024)) {
    hash.update(chunk);
    if (!out.write(chunk)) await new Promise<void>((resolve) => out.once('drain', () => resolve()));
  }
  out.end();
  await finished(out);
  return { path: file, size, sha1: hash.digest('hex') };
}

async function sha1OfFile(file: string): Promise<string> {
  const hash = createHash('sha1');
  for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

const RANGES = 8;

/**
 * Downloads the file from the emulator in RANGES concurrent ranged GETs (the emulator's link cap is per
 * connection, so one stream would take long on the WAN shape), writes the bytes at their offsets into a
 * scratch file, and returns the SHA-1 of that file.
 */
export async function downloadedSha1(target: EmulatorTarget, fileId: string, size: number, scratchDir: string): Promise<string> {
  const scratch = path.join(scratchDir, `download-${fileId}.bin`);
  const agent = new Agent({ connections: RANGES });
  const fh = await open(scratch, 'w');
  try {
    const step = Math.ceil(size / RANGES);
    const ranges: Array<[number, number]> = [];
    for (let start = 0; start < size; start += step) ranges.push([start, Math.min(size, start + step) - 1]);
    await Promise.all(
      ranges.map(async ([first, last]) => {
        const res = await request(`${target.apiUrl}/2.0/files/${fileId}/content`, {
          dispatcher: agent,
          headers: { authorization: `Bearer ${target.token}`, range: `bytes=${first}-${last}` },
        });
        if (res.statusCode !== 206 && !(res.statusCode === 200 && first === 0 && last === size - 1)) {
          throw new Error(`download of file ${fileId} bytes ${first}-${last}: HTTP ${res.statusCode} ${await res.body.text()}`);
        }
        let position = first;
        for await (const chunk of res.body) {
          const bytes = chunk as Buffer;
          await fh.write(bytes, 0, bytes.length, position);
          position += bytes.length;
        }
        if (position !== last + 1) throw new Error(`download of file ${fileId} bytes ${first}-${last} ended at ${position}`);
      }),
    );
  } finally {
    await fh.close();
    await agent.close();
  }
  try {
    return await sha1OfFile(scratch);
  } finally {
    await rm(scratch, { force: true });
  }
}
