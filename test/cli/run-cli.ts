// The s3-to-box command line as a user runs it: a child process under this Node, its output collected.
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../bin/s3-to-box.js', import.meta.url));

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Starts `s3-to-box ...args` with `env` over this process's environment (for tests that signal it while it runs). */
export function spawnCli(args: string[], env: Record<string, string> = {}): ChildProcessWithoutNullStreams {
  return spawn(process.execPath, [BIN, ...args], { env: { ...process.env, ...env, NO_COLOR: '1' }, stdio: 'pipe' });
}

/** Collects a child's output until it exits; `stdin` is its whole input (none: at once EOF). */
export function finished(child: ChildProcessWithoutNullStreams, stdin?: string): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin ?? '');
  });
}

/** Runs `s3-to-box ...args` with `env` over this process's environment; `stdin` is its whole input (none: at once EOF). */
export function cli(args: string[], env: Record<string, string> = {}, stdin?: string): Promise<CliRun> {
  return finished(spawnCli(args, env), stdin);
}

/** Runs `jobs` a few at a time: each is a Node process loading the sources, on two shared cores. */
export async function inTurn<T>(jobs: Array<() => Promise<T>>, width = 3): Promise<T[]> {
  const out: T[] = new Array(jobs.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < jobs.length) {
        const i = next++;
        out[i] = await jobs[i]!();
      }
    }),
  );
  return out;
}
