// What the parent asks a child process to measure, what comes back, and how a child is run.
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { machineCpuTimes, otherCores, waitForQuiet } from './load.ts';
import type { EmulatorTarget } from './sdk.ts';
import { lambdaCommand, lambdaEnvironment } from '../local/lambda/runtime.ts';
import type { LambdaProcess } from '../local/lambda/runtime.ts';

export type Uploader = 'ours' | 'sdk';

/** An upload whose bytes in Box are not the source's: the bench stops (exit 1) rather than report a speed. */
export class IntegrityFailure extends Error {
  override name = 'Bench.IntegrityFailure';
}

// One 202 per commit, Retry-After 1 s: both uploaders wait that second (ours never re-commits sooner
// than 1 s; the SDK, with the workaround, honours Retry-After), so neither gets an edge from it.
export const COMMIT_202 = { mode: 'count', times: 1, retryAfterSeconds: 1 } as const;

export type Job =
  | { kind: 'idle'; uploader: Uploader; target: EmulatorTarget }
  | { kind: 'upload'; uploader: Uploader; concurrency?: number; target: EmulatorTarget; file: string; size: number; name: string }
  | { kind: 'pipeline'; target: EmulatorTarget; s3Endpoint: string; bucket: string; key: string; name: string; concurrency: number }
  /** box-node-sdk's uploadBigFile fed by the S3 object's GetObject stream (what a user of the SDK would write). */
  | { kind: 'sdk-s3'; target: EmulatorTarget; s3Endpoint: string; bucket: string; key: string; name: string }
  | { kind: 'hash-cpu'; size: number; sliceBytes: number }
  | {
      kind: 'hash-s3';
      s3Endpoint: string;
      bucket: string;
      key: string;
      /** The same S3 behind a per-connection bandwidth cap (bench/hash-shaper.ts): the shaped reads are measured too. */
      shapedEndpoint?: string;
      /** Raw read / HashObject path pairs, alternating (ABBA): a noisy sample of either cannot decide the ratio alone. */
      pairs: number;
    };

/** What the pipeline child counted, for the cost model. */
export interface PipelineCounts {
  /** State transitions (states entered), as Step Functions bills them. */
  transitions: number;
  /** States entered, by state name. */
  statesEntered: Record<string, number>;
  /** Lambda invocations and their summed duration, by Task state. */
  invocations: Record<string, { count: number; ms: number }>;
  /** S3 requests by command. */
  s3Requests: Record<string, number>;
  /** Hash invocations' engine (node:crypto / hash-wasm). */
  hashEngine?: string;
}

export interface MemoryPeaks {
  /** Peak resident set size of the child (getrusage maxrss). */
  maxRssBytes: number;
  /** Sampled peaks (every 20 ms) of process.memoryUsage(). */
  heapUsedBytes: number;
  arrayBuffersBytes: number;
  externalBytes: number;
}

export interface JobResult {
  /** Wall time of the measured operation inside the child (imports and process start excluded). */
  ms: number;
  /** CPU time (user + system) of this process during the operation. */
  cpuMs?: number;
  fileId?: string;
  /** Hex SHA-1 as the uploader (Box) reported it, or the digest computed. */
  sha1?: string;
  parts?: number;
  mode?: string;
  marks?: Record<string, number>;
  counts?: PipelineCounts;
  memory: MemoryPeaks;
  /** CPU time of the whole child process, start-up included. */
  processCpuMs: number;
  /** The same by thread kind (main, V8 workers, libuv pool, other; Linux only; children of earlier checkouts: unset). */
  threadCpuMs?: Record<string, number>;
}

/** A child's result, and what the parent saw while it ran. */
export interface Measured {
  result: JobResult;
  /** CPU time of the parent (the servers) while the child ran. */
  serverCpuMs: number;
  /** Cores used by processes other than the bench's during the child's life. */
  otherCores: number;
  /** Ms the parent's event loop (the servers') was busy during the child's life. */
  serverLoopMs: number;
}

/** runChild, plus the parent's CPU time and the machine's other load over the child's life. */
export async function runMeasured(job: Job, options: ChildOptions & { quietWaitMs?: number } = {}): Promise<Measured> {
  await waitForQuiet(options.quietWaitMs);
  const machineBefore = machineCpuTimes();
  const cpuBefore = process.cpuUsage();
  const loopBefore = performance.eventLoopUtilization();
  const started = performance.now();
  const result = await runChild(job, options);
  const wallMs = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  const serverLoopMs = performance.eventLoopUtilization(loopBefore).active;
  const serverCpuMs = (cpu.user + cpu.system) / 1000;
  return { result, serverCpuMs, otherCores: otherCores(machineBefore, machineCpuTimes(), serverCpuMs + result.processCpuMs, wallMs), serverLoopMs };
}

/** The entries written for earlier checkouts, one per checkout and process; and the checkout of each. */
const olderEntries = new Map<string, string>();
const checkoutOfEntry = new Map<string, string>();

/** The checkout a child entry starts (bench/child-start.js, bench/child.ts, or an entry written for an earlier checkout). */
export function checkoutOf(entry: string): string {
  return checkoutOfEntry.get(entry) ?? path.join(path.dirname(entry), '..');
}

/**
 * A checkout's child entry: bench/child-start.js, which starts bench/child.ts as the CLI starts (a JavaScript
 * entry, its caches and hooks). An earlier checkout without it is started as its own CLI started: a JavaScript
 * entry written here that turns on what that checkout's bin/s3-to-box.js turned on (Node's compile cache, its
 * bin/ts-cache.js), then imports its bench/child.ts; with neither, bench/child.ts itself.
 */
export function childEntryOf(checkout: string): string {
  const start = path.join(checkout, 'bench/child-start.js');
  if (existsSync(start)) return start;
  const known = olderEntries.get(checkout);
  if (known !== undefined) return known;
  const child = path.join(checkout, 'bench/child.ts');
  const cli = readIfExists(path.join(checkout, 'bin/s3-to-box.js'));
  const tsCache = path.join(checkout, 'bin/ts-cache.js');
  const compileCache = cli.includes('enableCompileCache');
  const typeScriptCache = cli.includes('registerTypeScriptCache') && existsSync(tsCache);
  if (!compileCache && !typeScriptCache) return child;
  // As a file of its own (not a data: URL): Node's compile cache and the relative imports need a real path.
  const lines = [
    ...(compileCache ? ["import { enableCompileCache } from 'node:module';", 'enableCompileCache?.();'] : []),
    ...(typeScriptCache
      ? [`const { registerTypeScriptCache } = await import(${JSON.stringify(pathToFileURL(tsCache).href)});`, `registerTypeScriptCache(${JSON.stringify(pathToFileURL(checkout + path.sep).href)});`]
      : []),
    `await import(${JSON.stringify(pathToFileURL(child).href)});`,
  ];
  const dir = mkdtempSync(path.join(os.tmpdir(), 's3-to-box-bench-start-'));
  const entry = path.join(dir, 'child-start.mjs');
  writeFileSync(entry, `${lines.join('\n')}\n`);
  olderEntries.set(checkout, entry);
  checkoutOfEntry.set(entry, checkout);
  return entry;
}

function readIfExists(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

const CHILD = childEntryOf(fileURLToPath(new URL('..', import.meta.url)));

/** The V8 flags a checkout's CLI starts its process with (local/runner/node-flags.json; none in checkouts without it). */
export function runnerNodeFlags(checkout: string): string[] {
  try {
    return (JSON.parse(readFileSync(path.join(checkout, 'local/runner/node-flags.json'), 'utf8')) as { flags: string[] }).flags;
  } catch {
    return [];
  }
}

export interface ChildOptions {
  /** Another checkout's child entry (childEntryOf; a before/after comparison). */
  child?: string;
  /** Node options before the child's script (--cpu-prof). */
  nodeArgs?: string[];
  /** Start the process as Lambda starts this function's (its exec wrapper and heap options), not as a plain node. */
  lambda?: LambdaProcess;
  /** Pin the child to these CPUs (`taskset -c`), e.g. '1': a function with one vCPU gets one core, not two. */
  cpuList?: string;
}

/** Runs one job in a fresh Node process (the same Node as the parent); rejects with its stderr on failure. */
export function runChild(job: Job, options: ChildOptions = {}): Promise<JobResult> {
  const childPath = options.child ?? CHILD;
  // A pipeline child stands for the local runner's process: it starts with the V8 flags that checkout's CLI uses.
  const runnerFlags = job.kind === 'pipeline' ? runnerNodeFlags(checkoutOf(childPath)) : [];
  const entry = ['--disable-warning=ExperimentalWarning', ...runnerFlags, ...(options.nodeArgs ?? []), childPath, JSON.stringify(job)];
  const started = options.lambda !== undefined ? lambdaCommand(options.lambda, process.execPath, entry) : { file: process.execPath, args: entry };
  const command = options.cpuList === undefined ? started : { file: 'taskset', args: ['-c', options.cpuList, started.file, ...started.args] };
  return new Promise((resolve, reject) => {
    const child = spawn(command.file, command.args, {
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(options.lambda !== undefined ? { env: { ...process.env, ...lambdaEnvironment(options.lambda) } } : {}),
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) {
        reject(new Error(`${job.kind} child exited with ${code}: ${err.trim().slice(-2000)}`));
        return;
      }
      const last = out.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(last) as JobResult);
      } catch {
        reject(new Error(`${job.kind} child printed no result: ${out.slice(-500)} ${err.slice(-500)}`));
      }
    });
  });
}
