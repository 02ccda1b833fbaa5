// The emulator's command line: option parsing, serving until stopped (signal or SIGTERM), and every option
// of startBoxEmulator and every fault action reachable from it.
import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { EMULATOR_OPTION_FLAGS, emulatorCommand, parseByteSize, runEmulatorFromCli, toEmulatorOptions } from '../../local/box-emulator/cli.ts';
import { FAULT_ACTION_TYPES } from '../../local/box-emulator/faults.ts';
import type { BoxEmulator } from '../../local/box-emulator/index.ts';
import type { BoxEmulatorOptions, FaultAction, FaultRule } from '../../local/box-emulator/types.ts';
import { bytes, call, createSession, putPart } from './helpers.ts';

/**
 * Runs the emulator's command line in this process; `started` resolves once it listens (its URLs printed,
 * onStarted called), or rejects when the command ends before that. No clock decides: the test's timeout does.
 */
function runFromCli(argv: string[], lines: string[], signal: AbortSignal): { started: Promise<BoxEmulator>; running: Promise<void> } {
  let listening: (box: BoxEmulator) => void = () => undefined;
  const onStarted = new Promise<BoxEmulator>((resolve) => (listening = resolve));
  const running = runEmulatorFromCli(argv, { log: (l) => lines.push(l), signal, onStarted: listening });
  const endedFirst = running.then(() => {
    throw new Error(`the emulator ended before it listened:\n${lines.join('\n')}`);
  });
  return { started: Promise.race([onStarted, endedFirst]), running };
}

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
    const { started, running } = runFromCli(['--port', '0', '--token', 'cli-token', '--part-size', '1MiB', '--min-chunked-size', '10', '--commit-202-times', '1'], lines, stop.signal);
    const box = await started;
    const s = await createSession(box, 3_000_000, 'cli.bin');
    expect(s.part_size).toBe(1024 * 1024);
    expect((await call(box, 'GET', '/2.0/folders/0/items', { token: 'cli-token' })).status).toBe(200);
    expect(lines.join('\n')).toContain(box.url);
    expect(lines.join('\n')).toContain(`${box.url}/api`);
    stop.abort();
    await running;
    expect(lines.at(-1)).toBe('Box emulator stopped.');
    await expect(call(box, 'GET', '/2.0/folders/0/items')).rejects.toThrow();
  }, 60_000);

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
  }, 60_000);

  it('as a process: both commit-processing modes at once is a usage error (exit 2) that names both flags, from either entry point', async () => {
    const node = path.resolve('node_modules/.bin/node');
    const run = (args: string[]): Promise<{ code: number | null; stderr: string }> =>
      new Promise((resolve) => {
        const child = spawn(node, [...args, '--port', '0', '--commit-202-times', '2', '--commit-bytes-per-second', '1MiB'], { stdio: ['ignore', 'pipe', 'pipe'] });
        let stderr = '';
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.once('exit', (code) => resolve({ code, stderr }));
      });
    for (const entry of [['bin/s3-to-box.js', 'emulator'], ['local/box-emulator/cli.ts']]) {
      const { code, stderr } = await run(entry);
      expect(stderr, entry.join(' ')).toMatch(/--commit-202-times .*cannot be used with option '--commit-bytes-per-second/);
      expect(code, entry.join(' ')).toBe(2);
    }
  }, 60_000);
});

describe('every emulator option and fault is reachable from the command line', () => {
  /** Parses `argv` as `s3-to-box emulator` does, without starting it. */
  function parse(argv: string[]): { options: BoxEmulatorOptions; faults: FaultRule[] } {
    const cmd = emulatorCommand().exitOverride().action(() => undefined);
    cmd.parse(argv, { from: 'user' });
    const opts = cmd.opts();
    return { options: toEmulatorOptions(opts), faults: (opts['fault'] as FaultRule[] | undefined) ?? [] };
  }

  const dir = mkdtempSync(path.join(tmpdir(), 'emulator-cli-'));
  const pem = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
  writeFileSync(path.join(dir, 'app.pem'), pem);
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  // One command line per option of startBoxEmulator, and the option it must give (a key of
  // BoxEmulatorOptions missing here fails to compile).
  const SAMPLES: { [K in keyof BoxEmulatorOptions]-?: [argv: string[], expected: (value: BoxEmulatorOptions[K]) => void] } = {
    port: [['--port', '0'], (v) => expect(v).toBe(0)],
    host: [['--host', '0.0.0.0'], (v) => expect(v).toBe('0.0.0.0')],
    dataDir: [['--data-dir', dir], (v) => expect(v).toBe(dir)],
    tokens: [['--token', 'a', 'b'], (v) => expect(v).toEqual(['a', 'b'])],
    clientId: [['--client-id', 'id'], (v) => expect(v).toBe('id')],
    clientSecret: [['--client-secret', 'secret'], (v) => expect(v).toBe('secret')],
    jwtPublicKeys: [['--jwt-public-key', `k1=${path.join(dir, 'app.pem')}`, `k2=${path.join(dir, 'app.pem')}`], (v) => expect(v).toEqual({ k1: pem, k2: pem })],
    tokenTtlSeconds: [['--token-ttl', '60'], (v) => expect(v).toBe(60)],
    partSize: [['--part-size', '1MiB'], (v) => expect(v).toBe(1024 * 1024)],
    minChunkedFileSize: [['--min-chunked-size', '10'], (v) => expect(v).toBe(10)],
    maxFileSize: [['--max-file-size', '1GiB'], (v) => expect(v).toBe(2 ** 30)],
    sessionTtlSeconds: [['--session-ttl', '5'], (v) => expect(v).toBe(5)],
    commitProcessing: [['--commit-202-times', '2', '--retry-after', '0.5'], (v) => expect(v).toEqual({ mode: 'count', times: 2, retryAfterSeconds: 0.5 })],
    commit202Body: [['--commit-202-body', 'json-no-body'], (v) => expect(v).toBe('json-no-body')],
    committedSession: [['--committed-session', 'session-gone'], (v) => expect(v).toBe('session-gone')],
    partDigestMismatchStatus: [['--part-digest-mismatch-status', '400'], (v) => expect(v).toBe(400)],
    overlapStatus: [['--overlap-status', '409'], (v) => expect(v).toBe(409)],
    overlapContext: [['--overlap-context', 'message-only'], (v) => expect(v).toBe('message-only')],
    preflight: [['--preflight', 'no-name-check'], (v) => expect(v).toBe('no-name-check')],
    markerPaging: [['--marker-paging', 'ignored'], (v) => expect(v).toBe('ignored')],
    latencyMs: [['--latency-ms', '7'], (v) => expect(v).toBe(7)],
    bandwidthBytesPerSecond: [['--bandwidth', '50MiB'], (v) => expect(v).toBe(50 * 2 ** 20)],
    onRequest: [['--log-requests'], (v) => expect(typeof v).toBe('function')],
  };

  it.each(Object.entries(SAMPLES))('%s', (key, [argv, expected]) => {
    const option = key as keyof BoxEmulatorOptions;
    expect(argv[0]).toBe(EMULATOR_OPTION_FLAGS[option]);
    const { options } = parse(argv);
    expect(options[option], `${argv.join(' ')} sets ${key}`).toBeDefined();
    (expected as (v: unknown) => void)(options[option]);
    // Left out, the emulator's default applies (those with a command-line default aside).
    if (!['port', 'host', 'tokens', 'clientId', 'clientSecret', 'minChunkedFileSize'].includes(key)) expect(parse([]).options[option]).toBeUndefined();
    expect(emulatorCommand().helpInformation()).toContain(EMULATOR_OPTION_FLAGS[option]);
  });

  it('commitProcessing: --commit-bytes-per-second is the proportional mode, refused together with --commit-202-times; bad values are refused', () => {
    expect(parse(['--commit-bytes-per-second', '100MiB', '--retry-after', '0.5']).options.commitProcessing).toEqual({ mode: 'proportional', bytesPerSecond: 100 * 2 ** 20, retryAfterSeconds: 0.5 });
    expect(parse(['--commit-202-times', '2']).options.commitProcessing).toEqual({ mode: 'count', times: 2, retryAfterSeconds: 1 });
    expect(() => parse(['--commit-202-times', '2', '--commit-bytes-per-second', '1MiB'])).toThrow(/cannot be used with option '--commit-bytes-per-second/);
    expect(() => parse(['--overlap-status', '410'])).toThrow(/Allowed choices are 416, 409/);
    expect(() => parse(['--jwt-public-key', 'k1'])).toThrow(/not KID=FILE/);
  });

  // Every fault action but `hold` (a promise cannot come from a command line); a type added to FaultAction
  // without a line here fails to compile.
  const FAULTS: Record<Exclude<FaultAction['type'], 'hold'>, [arg: string, rule: FaultRule]> = {
    status: ['commit:status=503@2', { operation: 'commit', nth: 2, action: { type: 'status', status: 503 } }],
    storeThenFail: ['uploadPart:storeThenFail=500', { operation: 'uploadPart', action: { type: 'storeThenFail', status: 500 } }],
    storeThenReset: ['commit:storeThenReset@1', { operation: 'commit', nth: 1, action: { type: 'storeThenReset' } }],
    storeThenGarble: ['commit:storeThenGarble@1*2', { operation: 'commit', nth: 1, times: 2, action: { type: 'storeThenGarble' } }],
    corruptBody: ['uploadPart:corruptBody@2', { operation: 'uploadPart', nth: 2, action: { type: 'corruptBody' } }],
    emptyListing: ['listFolderItems:emptyListing', { operation: 'listFolderItems', action: { type: 'emptyListing' } }],
    reset: ['uploadPart:reset@3', { operation: 'uploadPart', nth: 3, action: { type: 'reset' } }],
    partsMismatch: ['commit:partsMismatch@1', { operation: 'commit', nth: 1, action: { type: 'partsMismatch' } }],
    expireToken: ['listParts:expireToken@1', { operation: 'listParts', nth: 1, action: { type: 'expireToken' } }],
    latency: ['uploadPart:latency=250', { operation: 'uploadPart', action: { type: 'latency', ms: 250 } }],
  };

  it('--fault takes every fault action (shorthand or JSON) and the emulator starts with them injected', async () => {
    expect(FAULT_ACTION_TYPES.filter((t) => t !== 'hold').sort()).toEqual(Object.keys(FAULTS).sort());
    const args = Object.values(FAULTS).flatMap(([arg]) => ['--fault', arg]);
    const json = { operation: 'uploadPart', nth: 3, action: { type: 'status', status: 429, code: 'rate_limit_exceeded', retryAfterSeconds: 2 } };
    const { faults } = parse([...args, '--fault', JSON.stringify(json)]);
    expect(faults).toEqual([...Object.values(FAULTS).map(([, rule]) => rule), json]);
    expect(emulatorCommand().helpInformation()).toContain(FAULT_ACTION_TYPES.filter((t) => t !== 'hold').join(', '));
    expect(() => parse(['--fault', 'uploadPart:hold'])).toThrow(/action.until must be a promise/);
    expect(() => parse(['--fault', 'nothing:reset'])).toThrow(/operation must be one of/);
    expect(() => parse(['--fault', 'commit:status'])).toThrow(/action.status must be an HTTP status/);

    // Started from the command line: the rules are in force (a damaged part is refused as its Digest says).
    const lines: string[] = [];
    const stop = new AbortController();
    const { started, running } = runFromCli(['--port', '0', '--min-chunked-size', '10', '--part-size', '1MiB', '--part-digest-mismatch-status', '400', ...args], lines, stop.signal);
    try {
      const box = await started;
      const listed = (await call(box, 'GET', '/_emulator/faults')).json as { faults: Array<FaultRule & { calls: number; fired: number }> };
      expect(listed.faults.map(({ calls: _calls, fired: _fired, ...rule }) => rule)).toEqual(Object.values(FAULTS).map(([, rule]) => rule));
      expect(lines.filter((l) => l.includes('Fault:'))).toHaveLength(Object.keys(FAULTS).length);
      box.faults.clear();
      box.faults.inject(FAULTS.corruptBody[1]);
      const data = bytes(2 * 1024 * 1024);
      const session = await createSession(box, data.length, 'fault.bin');
      expect((await putPart(box, session, data.subarray(0, 1024 * 1024), 0)).status).toBe(200);
      const damaged = await putPart(box, session, data.subarray(1024 * 1024), 1024 * 1024);
      expect(damaged.status).toBe(400);
      expect(damaged.json).toMatchObject({ code: 'digest_mismatch' });
    } finally {
      stop.abort();
      await running;
    }
  }, 60_000);
});
