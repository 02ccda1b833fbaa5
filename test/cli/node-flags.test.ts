// The CLI's process runs with the local runner's V8 flags (local/runner/node-flags.json: a larger initial
// heap, so that a transfer's stream of socket buffers does not keep V8 in back-to-back full GCs).
// bin/s3-to-box.js re-executes itself with them: same pid, so stdio, signals and exit status are the
// process the user started.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import runnerNode from '../../local/runner/node-flags.json' with { type: 'json' };

const BIN = fileURLToPath(new URL('../../bin/s3-to-box.js', import.meta.url));

describe('the CLI process', () => {
  it.runIf(existsSync('/proc/self/cmdline'))('runs with the runner\'s V8 flags in the process that was started, and still stops on SIGINT with exit 0', async () => {
    expect(runnerNode.flags).toContain('--initial-heap-size=128');
    const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', BIN, 'emulator', '--port', '0', '--token', 'flags-token'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<{ code: number | null; signal: string | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
    try {
      await new Promise<void>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (/API base URL:\s+http:\/\/\S+/.test(out)) resolve();
        });
        child.on('error', reject);
        child.on('close', () => reject(new Error(`emulator exited early: ${out}`)));
      });
      // The pid spawned above now runs Node with the flags, then the arguments it was given.
      const argv = readFileSync(`/proc/${child.pid}/cmdline`, 'utf8').split('\0').filter((a) => a !== '');
      expect(argv.slice(1, 1 + runnerNode.flags.length)).toEqual(runnerNode.flags);
      expect(argv.slice(1 + runnerNode.flags.length)).toEqual(['--disable-warning=ExperimentalWarning', BIN, 'emulator', '--port', '0', '--token', 'flags-token']);
      // At once after the URLs: the stop is listened for before they are printed.
      child.kill('SIGINT');
      expect(await exited).toEqual({ code: 0, signal: null });
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});
