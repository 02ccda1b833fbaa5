// What X-Ray tracing (Powertools Tracer) costs the Lambdas, and what they write to CloudWatch Logs.
// The shipped bundles of one transfer's functions (Prepare, UploadBatch, HashObject, Commit) each run in a
// fresh Node process started as Lambda starts the function's (local/lambda/runtime.ts), with the environment
// the Lambda runtime gives it (AWS_EXECUTION_ENV, LAMBDA_TASK_ROOT, a fresh _X_AMZN_TRACE_ID per invocation,
// Sampled=1) and serverless.yml's log level; each process imports its bundle and is invoked N times against
// s3rver and the Box emulator on loopback, the chain Prepare -> UploadBatch -> HashObject -> Commit run N
// times over. Tracing on: AWS_XRAY_DAEMON_ADDRESS names a UDP listener of this bench, which counts the
// segment documents the X-Ray SDK really sends (by trace id, so by invocation); tracing off:
// POWERTOOLS_TRACE_ENABLED=false, as a deployment would switch it. The processes of both modes alternate.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { lambdaCommand } from '../local/lambda/runtime.ts';
import type { LambdaProcess } from '../local/lambda/runtime.ts';
import { buildShipped, lambdaProcessOf, serverlessConfig } from './bundles.ts';
import { machineCpuTimes, otherCores } from './load.ts';
import type { CpuTimes } from './load.ts';
import { fixed, markdownTable as table, median } from './stats.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

export type TracingMode = 'off' | 'on';

/** One transfer's Task Lambdas, in the order a chunked transfer runs them: serverless.yml key and Task state name. */
const TRACED_FUNCTIONS = [
  { fn: 'prepare', state: 'Prepare' },
  { fn: 'uploadBatch', state: 'UploadBatch' },
  { fn: 'hashObject', state: 'HashObject' },
  { fn: 'commit', state: 'Commit' },
] as const;

/** What the X-Ray SDK sent for one invocation (its trace id). */
export interface SegmentCounts {
  datagrams: number;
  bytes: number;
  /** Subsegments in those documents, nested ones included. */
  subsegments: number;
  /** Subsegments of AWS SDK calls (namespace aws) and of other HTTP requests (namespace remote: undici, https). */
  awsCalls: number;
  httpCalls: number;
  /** Bytes of the documents by what they record: the handler's subsegment, an AWS SDK call, another HTTP request. */
  handlerBytes: number;
  awsBytes: number;
  httpBytes: number;
}

export interface TracedInvocation extends SegmentCounts {
  fn: string;
  /** Size of the object the invocation worked on: the chain's small object, or the big one HashObject also hashes. */
  objectBytes: number;
  mode: TracingMode;
  round: number;
  /** 0: the process's first invocation (its cold start). */
  index: number;
  ms: number;
  cpuMs: number;
  /** Bytes and lines the invocation wrote to stdout and stderr (what CloudWatch Logs ingests from it). */
  logBytes: number;
  logLines: number;
}

export interface TracedProcess {
  fn: string;
  mode: TracingMode;
  round: number;
  importMs: number;
  importCpuMs: number;
  /** Log bytes written by the import itself (before the first invocation). */
  importLogBytes: number;
  otherCores: number;
}

export interface TracingResults {
  objectBytes: number;
  /** The big object HashObject hashed once per process after the chain's (what tracing costs per byte hashed). */
  bigObjectBytes?: number | undefined;
  partBytes: number;
  parts: number;
  invocationsPerProcess: number;
  rounds: number;
  logLevel: string;
  processes: TracedProcess[];
  invocations: TracedInvocation[];
  /** Datagrams that named no invocation's trace (should be none). */
  strayDatagrams: number;
}

// --- the X-Ray daemon stand-in -------------------------------------------------------------------

interface SegmentDocument {
  trace_id?: string;
  namespace?: string;
  subsegments?: SegmentDocument[];
}

function countSubsegments(doc: SegmentDocument, into: SegmentCounts): void {
  into.subsegments += 1;
  if (doc.namespace === 'aws') into.awsCalls += 1;
  else if (doc.namespace === 'remote') into.httpCalls += 1;
  for (const child of doc.subsegments ?? []) countSubsegments(child, into);
}

const emptyCounts = (): SegmentCounts => ({ datagrams: 0, bytes: 0, subsegments: 0, awsCalls: 0, httpCalls: 0, handlerBytes: 0, awsBytes: 0, httpBytes: 0 });

/**
 * Counts one datagram as the X-Ray daemon receives it: a header line (`{"format":"json","version":1}`), a
 * newline, one segment or subsegment document. Returns the document's trace id (undefined if unreadable).
 */
export function readSegmentDatagram(message: Buffer, byTrace: Map<string, SegmentCounts>): string | undefined {
  const text = message.toString('utf8');
  const newline = text.indexOf('\n');
  let doc: SegmentDocument;
  try {
    doc = JSON.parse(text.slice(newline + 1)) as SegmentDocument;
  } catch {
    return undefined;
  }
  if (typeof doc.trace_id !== 'string') return undefined;
  const counts = byTrace.get(doc.trace_id) ?? emptyCounts();
  counts.datagrams += 1;
  counts.bytes += message.length;
  if (doc.namespace === 'aws') counts.awsBytes += message.length;
  else if (doc.namespace === 'remote') counts.httpBytes += message.length;
  else counts.handlerBytes += message.length;
  countSubsegments(doc, counts);
  byTrace.set(doc.trace_id, counts);
  return doc.trace_id;
}

interface DaemonStandIn {
  address: string;
  byTrace: Map<string, SegmentCounts>;
  stray: () => number;
  close: () => Promise<void>;
}

async function startDaemon(): Promise<DaemonStandIn> {
  const socket = dgram.createSocket('udp4');
  const byTrace = new Map<string, SegmentCounts>();
  let stray = 0;
  socket.on('message', (message) => {
    if (readSegmentDatagram(message, byTrace) === undefined) stray += 1;
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const { port } = socket.address();
  return { address: `127.0.0.1:${port}`, byTrace, stray: () => stray, close: () => new Promise((resolve) => socket.close(() => resolve())) };
}

// --- one function's process -----------------------------------------------------------------------

/** A trace header as the Lambda runtime sets it for a sampled invocation, and its root (the documents' trace_id). */
export function traceHeader(now = Date.now()): { header: string; root: string } {
  const root = `1-${Math.floor(now / 1000).toString(16).padStart(8, '0')}-${randomBytes(12).toString('hex')}`;
  return { root, header: `Root=${root};Parent=${randomBytes(8).toString('hex')};Sampled=1` };
}

// Runs in the function's process: imports the bundle (timed), then invokes its handler once per event, each
// with its own trace header and a Lambda-like context; counts what is written to stdout/stderr per invocation.
// Results go to fd 3, so stdout and stderr carry only what the function writes.
const INVOKER = `
const { readFileSync, writeSync } = await import('node:fs');
const { randomUUID } = await import('node:crypto');
const spec = JSON.parse(readFileSync(process.env.BENCH_SPEC, 'utf8'));
const written = { bytes: 0, lines: 0, tail: '' };
for (const stream of [process.stdout, process.stderr]) {
  stream.write = (chunk, encoding, callback) => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
    written.bytes += Buffer.byteLength(text);
    for (const c of text) if (c === '\\n') written.lines++;
    written.tail = (written.tail + text).slice(-3000);
    const done = typeof encoding === 'function' ? encoding : callback;
    if (typeof done === 'function') done();
    return true;
  };
}
const c0 = process.cpuUsage();
const t0 = performance.now();
const m = await import(process.argv[1]);
const importCpu = process.cpuUsage(c0);
const out = { importMs: performance.now() - t0, importCpuMs: (importCpu.user + importCpu.system) / 1000, importLogBytes: written.bytes, invocations: [] };
for (const [i, event] of spec.events.entries()) {
  process.env._X_AMZN_TRACE_ID = spec.traceHeaders[i];
  const deadline = Date.now() + spec.timeoutMs;
  const context = {
    functionName: spec.functionName, functionVersion: '$LATEST', memoryLimitInMB: String(spec.memoryMb),
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:' + spec.functionName,
    awsRequestId: randomUUID(), logGroupName: '/aws/lambda/' + spec.functionName, logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    callbackWaitsForEmptyEventLoop: true, getRemainingTimeInMillis: () => deadline - Date.now(),
  };
  const before = { bytes: written.bytes, lines: written.lines };
  const c = process.cpuUsage();
  const t = performance.now();
  let result;
  try {
    result = await m.handler(event, context);
  } catch (err) {
    writeSync(3, JSON.stringify({ error: String(err && err.name) + ': ' + String(err && err.message), log: written.tail }));
    process.exit(1);
  }
  const ms = performance.now() - t;
  const cpu = process.cpuUsage(c);
  out.invocations.push({ ms, cpuMs: (cpu.user + cpu.system) / 1000, logBytes: written.bytes - before.bytes, logLines: written.lines - before.lines, result });
}
// The X-Ray SDK sends each document on a socket of its own: let the last sends leave.
await new Promise((resolve) => setTimeout(resolve, 100));
// The whole process's CPU so far (every thread, its start and import included): the bench's own, not other load.
const usage = process.resourceUsage();
out.processCpuMs = (usage.userCPUTime + usage.systemCPUTime) / 1000;
writeSync(3, JSON.stringify(out));
process.exit(0);`;

interface ProcessSpec {
  events: unknown[];
  traceHeaders: string[];
  functionName: string;
  memoryMb: number;
  timeoutMs: number;
}

interface ProcessOutput {
  importMs: number;
  importCpuMs: number;
  importLogBytes: number;
  invocations: { ms: number; cpuMs: number; logBytes: number; logLines: number; result: unknown }[];
  /** The function's process's CPU from its start to its last invocation's end (user + system, all threads). */
  processCpuMs: number;
}

/**
 * Cores other processes used while a function's process ran: the machine's busy cores minus the bench's
 * own, which are this process (s3rver, the emulator, the segment listener) and the function's process.
 */
export function otherLoadDuringProcess(machineBefore: CpuTimes | undefined, machineAfter: CpuTimes | undefined, benchCpuMs: number, functionCpuMs: number, wallMs: number): number {
  return otherCores(machineBefore, machineAfter, benchCpuMs + functionCpuMs, wallMs);
}

/** The environment the Lambda runtime gives the function (plus the local endpoints), tracing on or off. */
export function lambdaEnvironment(fn: string, memoryMb: number, mode: TracingMode, base: Record<string, string>, daemonAddress: string): Record<string, string> {
  const functionName = `s3-to-box-dev-${fn}`;
  return {
    PATH: process.env.PATH ?? '',
    ...base,
    AWS_REGION: 'us-east-1',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
    AWS_LAMBDA_FUNCTION_NAME: functionName,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(memoryMb),
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_LOG_GROUP_NAME: `/aws/lambda/${functionName}`,
    AWS_LAMBDA_LOG_STREAM_NAME: `2026/12/02/[$LATEST]${'0123456789abcdef'.repeat(2)}`,
    LAMBDA_TASK_ROOT: ROOT,
    TZ: ':UTC',
    AWS_XRAY_CONTEXT_MISSING: 'LOG_ERROR',
    AWS_XRAY_DAEMON_ADDRESS: daemonAddress,
    ...(mode === 'off' ? { POWERTOOLS_TRACE_ENABLED: 'false' } : {}),
  };
}

function runProcess(bundle: string, lambda: LambdaProcess, spec: ProcessSpec, env: Record<string, string>, specFile: string): Promise<ProcessOutput> {
  return new Promise((resolve, reject) => {
    void writeFile(specFile, JSON.stringify(spec)).then(() => {
      const command = lambdaCommand(lambda, process.execPath, ['--input-type=module', '-e', INVOKER, bundle]);
      const child = spawn(command.file, command.args, { stdio: ['ignore', 'ignore', 'pipe', 'pipe'], env: { ...env, BENCH_SPEC: specFile } });
      let result = '';
      let stderr = '';
      (child.stdio[3] as NodeJS.ReadableStream).setEncoding('utf8').on('data', (d: string) => (result += d));
      child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.on('close', (code) => {
        const parsed = (() => {
          try {
            return JSON.parse(result) as ProcessOutput & { error?: string; log?: string };
          } catch {
            return undefined;
          }
        })();
        if (code !== 0 || parsed === undefined || parsed.error !== undefined) {
          reject(new Error(`${spec.functionName} (${env.POWERTOOLS_TRACE_ENABLED === 'false' ? 'tracing off' : 'tracing on'}) failed: ${parsed?.error ?? `exit ${code}`} ${parsed?.log ?? ''} ${stderr.slice(-1500)}`));
        } else resolve(parsed);
      });
    }, reject);
  });
}

// --- the measurement ------------------------------------------------------------------------------

/** What the bench gives this measurement: where S3 and a fresh Box emulator are, and the object to move. */
export interface TracingTarget {
  bucket: string;
  key: string;
  /** Hex SHA-1 of the object. */
  sha1: string;
  /** A big object in the same bucket, for one more HashObject invocation per process. */
  big?: { key: string; sha1: string; bytes: number } | undefined;
  /** Environment that points the functions at the local S3 and Box (S3_ENDPOINT, BOX_*, credentials). */
  env: Record<string, string>;
}

export interface TracingPlan {
  rounds: number;
  invocations: number;
  objectBytes: number;
  partBytes: number;
  parts: number;
  /** Runs `use` with a fresh emulator whose part size is `partBytes`, and the target it serves. */
  withTarget: <T>(use: (target: TracingTarget) => Promise<T>) => Promise<T>;
  workDir: string;
  log: (line: string) => void;
}

export async function measureTracing(plan: TracingPlan): Promise<TracingResults> {
  const yaml = await serverlessConfig();
  const logLevel = String(yaml.params?.default?.logLevel ?? 'info');
  const bundleDir = await mkdtemp(path.join(plan.workDir, 'tracing-bundles-'));
  const daemon = await startDaemon();
  const processes: TracedProcess[] = [];
  const invocations: TracedInvocation[] = [];
  try {
    const bundles = new Map<string, { file: string; lambda: LambdaProcess; timeoutMs: number }>();
    for (const { fn } of TRACED_FUNCTIONS) {
      bundles.set(fn, { file: await buildShipped(fn, bundleDir), lambda: await lambdaProcessOf(fn), timeoutMs: 1000 * (yaml.functions[fn]?.timeout ?? yaml.provider.timeout ?? 30) });
    }
    for (let round = 1; round <= plan.rounds; round++) {
      // Alternate which mode goes first, so a drift in the machine's load does not favour one.
      const modes: TracingMode[] = round % 2 === 1 ? ['off', 'on'] : ['on', 'off'];
      for (const mode of modes) {
        await plan.withTarget(async (target) => {
          // The chain's transfers of the small object, then (Prepare and HashObject only) one of the big object.
          const objects = [...Array.from({ length: plan.invocations }, () => ({ key: target.key, sha1: target.sha1, bytes: plan.objectBytes })), ...(target.big ? [target.big] : [])];
          const prepareEvents: unknown[] = objects.map((o, i) => ({
            input: {
              source: { bucket: target.bucket, key: o.key },
              destination: { folderId: '0', fileName: `tracing-${mode}-${round}-${i}.bin` },
              onConflict: 'fail',
              options: { partsPerBatch: plan.parts },
            },
            executionId: `arn:aws:states:us-east-1:123456789012:execution:s3-to-box-dev:tracing-${mode}-${round}-${i}`,
            retryCount: 0,
          }));
          let transfers: unknown[] = [];
          for (const { fn } of TRACED_FUNCTIONS) {
            const count = fn === 'prepare' || fn === 'hashObject' ? objects.length : plan.invocations;
            const events = fn === 'prepare' ? prepareEvents : eventsOf(fn, transfers.slice(0, count), objects);
            const b = bundles.get(fn) as { file: string; lambda: LambdaProcess; timeoutMs: number };
            const traces = events.map(() => traceHeader());
            const env = lambdaEnvironment(fn, b.lambda.memoryMb, mode, { ...target.env, LOG_LEVEL: logLevel, _HANDLER: yaml.functions[fn]?.handler ?? '' }, daemon.address);
            const machineBefore = machineCpuTimes();
            const started = performance.now();
            const cpuBefore = process.cpuUsage();
            const out = await runProcess(b.file, b.lambda, { events, traceHeaders: traces.map((t) => t.header), functionName: env.AWS_LAMBDA_FUNCTION_NAME as string, memoryMb: b.lambda.memoryMb, timeoutMs: b.timeoutMs }, env, path.join(bundleDir, 'spec.json'));
            // Datagrams still on their way from the process that just ended.
            await new Promise((resolve) => setTimeout(resolve, 100));
            const servers = process.cpuUsage(cpuBefore);
            const other = otherLoadDuringProcess(machineBefore, machineCpuTimes(), (servers.user + servers.system) / 1000, out.processCpuMs, performance.now() - started);
            processes.push({ fn, mode, round, importMs: out.importMs, importCpuMs: out.importCpuMs, importLogBytes: out.importLogBytes, otherCores: other });
            for (const [index, inv] of out.invocations.entries()) {
              const counts = daemon.byTrace.get((traces[index] as { root: string }).root) ?? emptyCounts();
              // A measurement of tracing that traced nothing (or traced with tracing off) would be no measurement.
              if ((mode === 'on') !== counts.datagrams > 0) throw new TracingBenchFailure(`${fn} invocation ${index}, tracing ${mode}: ${counts.datagrams} segment documents reached the listener`);
              invocations.push({ fn, mode, round, index, objectBytes: (objects[index] as { bytes: number }).bytes, ms: inv.ms, cpuMs: inv.cpuMs, logBytes: inv.logBytes, logLines: inv.logLines, ...counts });
            }
            const warm = out.invocations.slice(1, plan.invocations);
            plan.log(
              `  [${fn}, tracing ${mode}, round ${round}] import ${fixed(out.importMs, 0)} ms; first invocation ${fixed(out.invocations[0]?.ms ?? Number.NaN, 0)} ms; ` +
                `then ${fixed(median(warm.map((x) => x.ms)), 1)} ms (CPU ${fixed(median(warm.map((x) => x.cpuMs)), 1)} ms) per invocation; ` +
                `${fixed(median(invocations.filter((x) => x.fn === fn && x.mode === mode && x.round === round && x.index < plan.invocations).map((x) => x.datagrams)), 0)} segment documents each` +
                `${count > plan.invocations ? `; the big object: ${fixed(out.invocations[plan.invocations]?.ms ?? Number.NaN, 0)} ms (CPU ${fixed(out.invocations[plan.invocations]?.cpuMs ?? Number.NaN, 0)} ms)` : ''}; other load ${fixed(other, 2)}`,
            );
            transfers = checkResults(fn, out.invocations.map((x) => x.result), objects, plan.invocations) ?? transfers;
          }
        });
      }
    }
  } finally {
    await daemon.close();
    await rm(bundleDir, { recursive: true, force: true });
  }
  return { objectBytes: plan.objectBytes, bigObjectBytes: invocations.find((x) => x.objectBytes !== plan.objectBytes)?.objectBytes, partBytes: plan.partBytes, parts: plan.parts, invocationsPerProcess: plan.invocations, rounds: plan.rounds, logLevel, processes, invocations, strayDatagrams: daemon.stray() };
}

class TracingBenchFailure extends Error {
  override name = 'Bench.TracingFailure';
}

const EXECUTION_ID = 'arn:aws:states:us-east-1:123456789012:execution:s3-to-box-dev:tracing';

/** The objects of a process's events, in order: its key, hex SHA-1 and size. */
interface EventObject {
  key: string;
  sha1: string;
  bytes: number;
}

const base64 = (hex: string): string => Buffer.from(hex, 'hex').toString('base64');

/** The events of `fn` for the transfers Prepare opened, as the state machine passes them. */
function eventsOf(fn: string, transfers: unknown[], objects: EventObject[]): unknown[] {
  if (fn === 'uploadBatch') return transfers.map((transfer) => ({ executionId: EXECUTION_ID, transfer, batch: 0, retryCount: 0 }));
  if (fn === 'hashObject') return transfers.map((transfer) => ({ executionId: EXECUTION_ID, transfer }));
  if (fn === 'commit') {
    return transfers.map((transfer, i) => ({ executionId: EXECUTION_ID, transfer, sha1: base64((objects[i] as EventObject).sha1), commit: { status: 'processing', retryAfterSeconds: 0, attempts: 0, waitedSeconds: 0 }, retryCount: 0 }));
  }
  throw new TracingBenchFailure(`no events for ${fn}`);
}

/**
 * Checks what `fn` answered for each object (every small one must end committed with its SHA-1, the big one
 * hashed to its SHA-1); Prepare's answers give the transfers.
 */
function checkResults(fn: string, results: unknown[], objects: EventObject[], chainLength: number): unknown[] | undefined {
  for (const [i, r] of results.entries()) {
    const { sha1 } = objects[i] as EventObject;
    if (fn === 'prepare') {
      const p = r as { mode: string; batches: number[] };
      if (p.mode !== 'chunked' || (i < chainLength && p.batches.length !== 1)) throw new TracingBenchFailure(`Prepare ${i} planned ${p.mode} with ${p.batches.length} batches; the chain needs one chunked batch`);
    } else if (fn === 'uploadBatch') {
      const b = r as { sentBytes: number; alreadyUploaded: number };
      if (b.sentBytes === 0 || b.alreadyUploaded !== 0) throw new TracingBenchFailure(`UploadBatch ${i} sent ${b.sentBytes} bytes (${b.alreadyUploaded} parts found stored)`);
    } else if (fn === 'hashObject') {
      const h = r as { done: boolean; sha1?: string };
      if (!h.done || h.sha1 !== base64(sha1)) throw new TracingBenchFailure(`HashObject ${i}: done ${h.done}, SHA-1 ${h.sha1}, the object's is ${base64(sha1)}`);
    } else {
      const c = r as { status: string; output?: { file: { sha1: string } } };
      if (c.status !== 'committed' || c.output?.file.sha1 !== sha1) throw new TracingBenchFailure(`Commit ${i}: ${c.status}, Box's SHA-1 ${c.output?.file.sha1}, the object's is ${sha1}`);
    }
  }
  return fn === 'prepare' ? results.map((r) => (r as { transfer: unknown }).transfer) : undefined;
}

// --- what the cost model takes from it -----------------------------------------------------------

/**
 * What Lambda itself writes to a function's log stream per invocation, in its text log format: START,
 * END and REPORT (with the X-Ray line an actively traced function's REPORT carries). Representative values
 * in the variable fields; an Init Duration field on cold starts is left out.
 */
const PLATFORM_LOG_LINES = [
  'START RequestId: 5d3b1b2e-3f4a-4b5c-8d6e-7f8091a2b3c4 Version: $LATEST\n',
  'END RequestId: 5d3b1b2e-3f4a-4b5c-8d6e-7f8091a2b3c4\n',
  'REPORT RequestId: 5d3b1b2e-3f4a-4b5c-8d6e-7f8091a2b3c4\tDuration: 12345.67 ms\tBilled Duration: 12346 ms\tMemory Size: 3008 MB\tMax Memory Used: 412 MB\t\n' +
    'XRAY TraceId: 1-674d8a4f-5ac6c58b1b5b4f6ac7b4d5e6\tSegmentId: 6b1f2c3d4e5f6a7b\tSampled: true\t\n',
];
export const PLATFORM_LOG_BYTES = PLATFORM_LOG_LINES.reduce((n, line) => n + Buffer.byteLength(line), 0);

/** Per warm invocation of a function with tracing on (as deployed): medians over the measured invocations. */
export interface ObservedInvocation {
  /** What the function wrote (Powertools log lines, EMF metrics), without Lambda's own lines. */
  logBytes: number;
  logLines: number;
  segmentDocuments: number;
  segmentBytes: number;
  /** The handler's own subsegment document, and the Box (other HTTP) requests' documents with their count. */
  handlerBytes: number;
  httpBytes: number;
  httpCalls: number;
}

/** What the cost model takes from the tracing rows: per Task state, and per traced call. */
export interface Observed {
  byState: Record<string, ObservedInvocation>;
  /** Mean bytes of one AWS SDK call's document (an S3 request), and of one Box part upload's (UploadBatch's HTTP requests). */
  s3CallBytes: number;
  partUploadBytes: number;
}

/** The warm invocations with tracing on (as deployed), by Task state name (Prepare, UploadBatch, ...), and per call. */
export function observedOf(r: TracingResults): Observed {
  const byState: Record<string, ObservedInvocation> = {};
  const warm = r.invocations.filter((x) => x.mode === 'on' && x.index > 0 && x.objectBytes === r.objectBytes);
  for (const { fn, state } of TRACED_FUNCTIONS) {
    const xs = warm.filter((x) => x.fn === fn);
    if (xs.length === 0) continue;
    const m = (k: keyof SegmentCounts | 'logBytes' | 'logLines'): number => median(xs.map((x) => x[k]));
    byState[state] = { logBytes: m('logBytes'), logLines: m('logLines'), segmentDocuments: m('datagrams'), segmentBytes: m('bytes'), handlerBytes: m('handlerBytes'), httpBytes: m('httpBytes'), httpCalls: m('httpCalls') };
  }
  const mean = (xs: TracedInvocation[], bytes: 'awsBytes' | 'httpBytes', calls: 'awsCalls' | 'httpCalls'): number =>
    xs.reduce((n, x) => n + x[bytes], 0) / xs.reduce((n, x) => n + x[calls], 0);
  return { byState, s3CallBytes: mean(warm, 'awsBytes', 'awsCalls'), partUploadBytes: mean(warm.filter((x) => x.fn === 'uploadBatch'), 'httpBytes', 'httpCalls') };
}

// --- report ---------------------------------------------------------------------------------------

interface FunctionSummary {
  fn: string;
  coldImport: Record<TracingMode, number>;
  coldFirst: Record<TracingMode, { ms: number; cpuMs: number }>;
  warm: Record<TracingMode, { ms: number; cpuMs: number; logBytes: number; logLines: number }>;
  segments: Pick<SegmentCounts, 'datagrams' | 'bytes' | 'awsCalls' | 'httpCalls'>;
  otherCores: number;
}

function summarizeTracing(r: TracingResults): FunctionSummary[] {
  return TRACED_FUNCTIONS.filter(({ fn }) => r.invocations.some((x) => x.fn === fn && x.objectBytes === r.objectBytes)).map(({ fn }) => {
    const of = (mode: TracingMode): TracedInvocation[] => r.invocations.filter((x) => x.fn === fn && x.mode === mode && x.objectBytes === r.objectBytes);
    const by = <K extends keyof TracedInvocation>(xs: TracedInvocation[], k: K): number => median(xs.map((x) => x[k] as number));
    const record = <T>(f: (mode: TracingMode) => T): Record<TracingMode, T> => ({ off: f('off'), on: f('on') });
    const warmOn = of('on').filter((x) => x.index > 0);
    return {
      fn,
      coldImport: record((mode) => median(r.processes.filter((p) => p.fn === fn && p.mode === mode).map((p) => p.importMs))),
      coldFirst: record((mode) => {
        const first = of(mode).filter((x) => x.index === 0);
        return { ms: by(first, 'ms'), cpuMs: by(first, 'cpuMs') };
      }),
      warm: record((mode) => {
        const warm = of(mode).filter((x) => x.index > 0);
        return { ms: by(warm, 'ms'), cpuMs: by(warm, 'cpuMs'), logBytes: by(warm, 'logBytes'), logLines: by(warm, 'logLines') };
      }),
      segments: { datagrams: by(warmOn, 'datagrams'), bytes: by(warmOn, 'bytes'), awsCalls: by(warmOn, 'awsCalls'), httpCalls: by(warmOn, 'httpCalls') },
      otherCores: Math.max(0, ...r.processes.filter((p) => p.fn === fn).map((p) => p.otherCores)),
    };
  });
}

const signed = (x: number, digits = 1): string => `${x >= 0 ? '+' : ''}${fixed(x, digits)}`;

/** HashObject over the big object, tracing off and on: what tracing costs per byte hashed. */
function renderBigHash(r: TracingResults, bytes: number): string {
  const xs = (mode: TracingMode): TracedInvocation[] => r.invocations.filter((x) => x.fn === 'hashObject' && x.mode === mode && x.objectBytes === bytes);
  const off = xs('off');
  const on = xs('on');
  if (off.length === 0 || on.length === 0) return '';
  const gib = bytes / 2 ** 30;
  const cpu = { off: median(off.map((x) => x.cpuMs)), on: median(on.map((x) => x.cpuMs)) };
  const ms = { off: median(off.map((x) => x.ms)), on: median(on.map((x) => x.ms)) };
  const gets = median(on.map((x) => x.awsCalls));
  return (
    `**A whole-object hash** (HashObject over a ${fixed(bytes / 2 ** 20, 0)} MiB object, once per process after the small ones, ${off.length} run(s) per mode): ` +
    `${fixed(ms.off, 0)} / ${fixed(ms.on, 0)} ms wall, ${fixed(cpu.off, 0)} / ${fixed(cpu.on, 0)} CPU ms off / on, that is ${fixed(cpu.off / 1000 / gib, 2)} / ${fixed(cpu.on / 1000 / gib, 2)} CPU-s per GiB: ` +
    `tracing adds **${signed((100 * (cpu.on - cpu.off)) / cpu.off, 0)} %** of the hash path's CPU (${signed((cpu.on - cpu.off) / gib, 0)} CPU ms per GiB). ` +
    `The segments are few (${fixed(gets, 0)} traced GET${gets === 1 ? '' : 's'}, ${fixed(median(on.map((x) => x.bytes)), 0)} bytes of segment documents); what grows with the bytes is the X-Ray SDK's context tracking: cls-hooked's async hooks, which run on every promise and callback of the process while tracing is on.`
  );
}

/** The tracing measurement as Markdown: cold start, per invocation, and what it means. */
export function renderTracing(r: TracingResults): string {
  const out: string[] = [];
  const s = summarizeTracing(r);
  out.push(`### X-Ray tracing (Powertools Tracer): what it costs per invocation (the shipped bundles, ${r.rounds} round(s) x ${r.invocationsPerProcess} invocations per function and mode)`);
  out.push('');
  out.push(
    `Each function runs in its own fresh process, started as Lambda starts it (runtime heap options for its memory, its exec wrapper) with the Lambda runtime's environment, and is invoked ${r.invocationsPerProcess} times; ` +
      `one "invocation" moves a ${fixed(r.objectBytes / 2 ** 20, 0)} MiB object in ${r.parts} parts of ${fixed(r.partBytes / 2 ** 20, 0)} MiB (one batch) from s3rver to the Box emulator on loopback: Prepare -> UploadBatch -> HashObject -> Commit, each with a fresh \`_X_AMZN_TRACE_ID\` (Sampled=1). ` +
      'Tracing on: `AWS_XRAY_DAEMON_ADDRESS` names a UDP listener of the bench that counts the segment documents the X-Ray SDK sends; off: `POWERTOOLS_TRACE_ENABLED=false`. ' +
      `The two modes' processes alternate. Log level ${r.logLevel} (serverless.yml's default). Every transfer was committed with the object's SHA-1.`,
  );
  out.push('');
  out.push('**Cold start** (medians over the rounds; the first invocation includes building the clients and, with tracing on, importing and starting the Tracer):');
  out.push('');
  out.push(
    table(
      ['function', 'import ms, off / on', 'first invocation ms, off / on', 'first invocation CPU ms, off / on', 'tracing at cold start, CPU ms'],
      s.map((x) => [
        x.fn,
        `${fixed(x.coldImport.off, 0)} / ${fixed(x.coldImport.on, 0)}`,
        `${fixed(x.coldFirst.off.ms, 0)} / ${fixed(x.coldFirst.on.ms, 0)}`,
        `${fixed(x.coldFirst.off.cpuMs, 0)} / ${fixed(x.coldFirst.on.cpuMs, 0)}`,
        signed(x.coldFirst.on.cpuMs - x.coldFirst.off.cpuMs, 0),
      ]),
    ),
  );
  out.push('');
  out.push('**Per warm invocation** (medians of the invocations after the first):');
  out.push('');
  out.push(
    table(
      ['function', 'traced calls (AWS SDK / other HTTP)', 'wall ms, off / on', 'CPU ms, off / on', 'tracing, CPU ms per invocation', 'tracing, CPU ms per traced call', 'segment documents / bytes sent', 'log bytes (lines) written, off / on', 'other load'],
      s.map((x) => {
        const calls = x.segments.awsCalls + x.segments.httpCalls;
        const extra = x.warm.on.cpuMs - x.warm.off.cpuMs;
        return [
          x.fn,
          `${fixed(x.segments.awsCalls, 0)} / ${fixed(x.segments.httpCalls, 0)}`,
          `${fixed(x.warm.off.ms, 1)} / ${fixed(x.warm.on.ms, 1)}`,
          `${fixed(x.warm.off.cpuMs, 1)} / ${fixed(x.warm.on.cpuMs, 1)}`,
          `${signed(extra)} (${signed((100 * extra) / x.warm.off.cpuMs, 0)} %)`,
          calls > 0 ? signed(extra / calls, 2) : 'n/a',
          `${fixed(x.segments.datagrams, 0)} / ${fixed(x.segments.bytes, 0)}`,
          `${fixed(x.warm.off.logBytes, 0)} (${fixed(x.warm.off.logLines, 0)}) / ${fixed(x.warm.on.logBytes, 0)} (${fixed(x.warm.on.logLines, 0)})`,
          fixed(x.otherCores, 2),
        ];
      }),
    ),
  );
  out.push('');
  const big = r.bigObjectBytes === undefined ? undefined : renderBigHash(r, r.bigObjectBytes);
  if (big !== undefined) out.push(big, '');
  const totalOff = s.reduce((n, x) => n + x.warm.off.cpuMs, 0);
  const totalOn = s.reduce((n, x) => n + x.warm.on.cpuMs, 0);
  const calls = s.reduce((n, x) => n + x.segments.awsCalls + x.segments.httpCalls, 0);
  const bytes = s.reduce((n, x) => n + x.segments.bytes, 0);
  out.push(
    `**Reading.** Over one transfer's four invocations, tracing took ${signed(totalOn - totalOff)} CPU ms (${signed((100 * (totalOn - totalOff)) / totalOff, 1)} % of ${fixed(totalOff, 0)}), ` +
      `${calls > 0 ? `${signed((totalOn - totalOff) / calls, 2)} CPU ms per traced call, ` : ''}and sent ${fixed(bytes, 0)} bytes of segment documents. ` +
      'In Lambda the X-Ray SDK sends every subsegment as its own UDP datagram on a socket of its own; the Tracer also traces the Box client\'s undici requests (as `remote` subsegments, adding an `X-Amzn-Trace-Id` header to each). ' +
      'Differences of a few CPU ms are within the noise of one machine shared with other load (see the other-load column: the cores busy while a function\'s process ran, less the function\'s own process and this bench\'s servers; the most of any process of that function).' +
      (r.strayDatagrams > 0 ? ` ${r.strayDatagrams} datagrams named no invocation's trace.` : ''),
  );
  return out.join('\n');
}
