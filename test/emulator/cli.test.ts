// The emulator's command line: option parsing, serving until stopped (signal or SIGTERM).
import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseByteSize, runEmulatorFromCli, toEmulatorOptions } from '../../local/box-emulator/cli.ts';
import type { BoxEmulator } from '../../local/box-emulator/index.ts';
import { call, createSession } from './helpers.ts';

describe('emulator CLI', () => {
  it('parses sizes', () => {
    expect(parseByteSize('8MiB')).toBe(8 * 1024 * 1024);
    expect(parseByteSize('50MB')).toBe(50_000_000);
    expect(parseByteSize('1048576')).toBe(1048576);
    expect(parseByteSize('1.5k')).toBe(1500);
    expect(() => parseByteSize('lots')).toThrow(/not a size/);
    expect(() => parseByteSize('0')).toThrow();
  });

  it('maps options: --commit-202-times becomes count mode with --retry-after', () => {
    const o = toEmulatorOptions({ port: 0, host: '127.0.0.1', token: ['a'], clientId: 'i', clientSecret: 's', minChunkedSize: 5, retryAfter: 2, commit202Times: 3, partSize: 1024, latencyMs: 7, bandwidth: 1000 });
    expect(o).toMatchObject({
      port: 0,
      tokens: ['a'],
      partSize: 1024,
      minChunkedFileSize: 5,
      commitProcessing: { mode: 'count', times: 3, retryAfterSeconds: 2 },
      latencyMs: 7,
      bandwidthBytesPerSecond: 1000,
    });
  });

  it('runs with the given options until its signal aborts, printing the URLs', async () => {
    const lines: string[] = [];
    const stop = new AbortController();
    let box: BoxEmulator | undefined;
    const running = runEmulatorFromCli(['--port', '0', '--token', 'cli-token', '--part-size', '1MiB', '--min-chunked-size', '10', '--commit-202-times', '1'], {
      log: (l) => lines.push(l),
      signal: stop.signal,
      onStarted: (b) => (box = b),
    });
    for (let i = 0; i < 200 && box === undefined; i++) await new Promise((r) => setTimeout(r, 5));
    expect(box).toBeDefined();
    const s = await createSession(box!, 3_000_000, 'cli.bin');
    expect(s.part_size).toBe(1024 * 1024);
    expect((await call(box!, 'GET', '/2.0/folders/0/items', { token: 'cli-token' })).status).toBe(200);
    expect(lines.join('\n')).toContain(box!.url);
    expect(lines.join('\n')).toContain(`${box!.url}/api`);
    stop.abort();
    await running;
    expect(lines.at(-1)).toBe('Box emulator stopped.');
    await expect(call(box!, 'GET', '/2.0/folders/0/items')).rejects.toThrow();
  });

  it('rejects a bad option', async () => {
    await expect(runEmulatorFromCli(['--port', 'x'], { log: () => undefined })).rejects.toThrow();
  });

  it('as a process: prints its URL, serves, and exits 0 on SIGTERM', async () => {
    const node = path.resolve('node_modules/.bin/node');
    const child = spawn(node, ['local/box-emulator/cli.ts', '--port', '0', '--token', 'proc-token'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const url = await new Promise<string>((resolve, reject) => {
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /API base URL:\s+(http:\/\/\S+)/.exec(out);
        if (m?.[1] !== undefined && out.includes('Press Ctrl+C')) resolve(m[1]);
      });
      child.once('exit', () => reject(new Error(`exited early: ${out}`)));
    });
    const res = await fetch(`${url}/2.0/folders/0/items`, { headers: { authorization: 'Bearer proc-token' } });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    child.kill('SIGTERM');
    expect(await exit).toBe(0);
    expect(out).toContain('Box emulator stopped.');
  });
});
