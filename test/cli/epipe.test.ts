// `s3-to-box transfer --help | head -5`: the reader may close the pipe before the CLI has written all it had
// to say. That is the reader's choice, not an error: the CLI ends quietly (exit 0), without a Node stack.
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { BIN } from './run-cli.ts';

describe('the CLI writing into a closed pipe', () => {
  for (const args of [['--help'], ['transfer', '--help'], ['sync', '--help']]) {
    it(`s3-to-box ${args.join(' ')} whose stdout's reader is gone before it writes: exit 0, nothing on stderr about EPIPE`, async () => {
      const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', BIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
      // The only reading end of its stdout closes at once: every write the CLI makes meets EPIPE.
      child.stdout.destroy();
      let err = '';
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      const exited = await new Promise<{ code: number | null; signal: string | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
      expect(err).not.toMatch(/EPIPE|Unhandled 'error' event/);
      expect(exited).toEqual({ code: 0, signal: null });
    }, 60_000);
  }
});
