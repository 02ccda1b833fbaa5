// One measurement in its own process, so that no run's memory or JIT state pollutes another's.
// The parent (bench/run.ts) keeps the servers (emulator, s3rver); this process is the client side only.
//   node bench/child.ts '<job as JSON>'   ->   the last stdout line is the result as JSON
// Modules are imported per job, so an uploader's peak RSS includes only its own code.
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import type { S3Client } from '@aws-sdk/client-s3';
import type { Job, JobResult, MemoryPeaks, PipelineCounts } from './jobs.ts';
import type { SourceObject } from '../src/transfer/contract.ts';

/** Peaks of process.memoryUsage(), sampled; maxRSS comes from the kernel (getrusage) at the end. */
function startMemorySampler(): () => MemoryPeaks {
  const peaks = { heapUsedBytes: 0, arrayBuffersBytes: 0, externalBytes: 0 };
  const sample = (): void => {
    const m = process.memoryUsage();
    peaks.heapUsedBytes = Math.max(peaks.heapUsedBytes, m.heapUsed);
    peaks.arrayBuffersBytes = Math.max(peaks.arrayBuffersBytes, m.arrayBuffers);
    peaks.externalBytes = Math.max(peaks.externalBytes, m.external);
  };
  const timer = setInterval(sample, 20);
  return () => {
    clearInterval(timer);
    sample();
    return { ...peaks, maxRssBytes: process.resourceUsage().maxRSS * 1024 };
  };
}

/** Wall time and this process's CPU time (user + system) of one operation. */
async function measured<T>(operation: () => Promise<T>): Promise<{ value: T; ms: number; cpuMs: number }> {
  const cpuBefore = process.cpuUsage();
  const started = performance.now();
  const value = await operation();
  const ms = performance.now() - started;
  const cpu = process.cpuUsage(cpuBefore);
  return { value, ms, cpuMs: (cpu.user + cpu.system) / 1000 };
}

async function runJob(job: Job): Promise<Omit<JobResult, 'memory' | 'processCpuMs'>> {
  switch (job.kind) {
    case 'idle': {
      // The floor: the uploader's modules loaded and a client built, nothing sent.
      if (job.uploader === 'sdk') {
        const { sdkClient } = await import('./sdk.ts');
        sdkClient(job.target);
      } else {
        const { BoxClient, DeveloperTokenAuth } = await import('../src/box/index.ts');
        await new BoxClient({ auth: new DeveloperTokenAuth(job.target.token), apiUrl: job.target.apiUrl, uploadUrl: job.target.uploadUrl }).close();
      }
      return { ms: 0 };
    }
    case 'upload': {
      if (job.uploader === 'sdk') {
        const { sdkClient } = await import('./sdk.ts');
        const client = sdkClient(job.target);
        const { value: file, ms, cpuMs } = await measured(() => client.chunkedUploads.uploadBigFile(createReadStream(job.file), job.name, job.size, '0'));
        return { ms, cpuMs, fileId: file.id, sha1: file.sha1 ?? '' };
      }
      const { BoxClient, DeveloperTokenAuth } = await import('../src/box/index.ts');
      const client = new BoxClient({ auth: new DeveloperTokenAuth(job.target.token), apiUrl: job.target.apiUrl, uploadUrl: job.target.uploadUrl });
      try {
        const { value: file, ms, cpuMs } = await measured(() =>
          client.chunkedUploads.uploadBigFile(createReadStream(job.file), job.name, job.size, '0', { concurrency: job.concurrency }),
        );
        return { ms, cpuMs, fileId: file.id, sha1: file.sha1 };
      } finally {
        await client.close();
      }
    }
    case 'pipeline':
      return runPipeline(job);
    case 'sdk-s3':
      return runSdkFromS3(job);
    case 'hash-cpu':
      return runHashCpu(job);
    case 'hash-s3':
      return runHashS3(job);
  }
}

/** The whole state machine through the local runner; the Lambdas run in this process, S3 and Box in the parent. */
async function runPipeline(job: Extract<Job, { kind: 'pipeline' }>): Promise<Omit<JobResult, 'memory' | 'processCpuMs'>> {
  const { runTransfer } = await import('../local/runner/transfer.ts');
  const { localS3Client } = await import('../local/runner/local-s3-client.ts');
  const { makeTaskHandlers } = await import('../functions/transferHandlers.ts');
  const { BoxClient, DeveloperTokenAuth } = await import('../src/box/index.ts');
  const { silentLogger } = await import('../src/transfer/logger.ts');
  const s3 = localS3Client(job.s3Endpoint);
  const counts: PipelineCounts = { transitions: 0, statesEntered: {}, invocations: {}, s3Requests: {} };
  // Counts every S3 request by command (the cost model's S3 line).
  s3.middlewareStack.add(
    (next, context) => (args) => {
      const name = (context as { commandName?: string }).commandName ?? 'unknown';
      counts.s3Requests[name] = (counts.s3Requests[name] ?? 0) + 1;
      return next(args);
    },
    { step: 'initialize', name: 'benchCountRequests' },
  );
  const box = new BoxClient({ auth: new DeveloperTokenAuth(job.target.token), apiUrl: job.target.apiUrl, uploadUrl: job.target.uploadUrl });
  const deps = { s3, box: async () => box, logger: silentLogger };
  // The real handlers, timed: invocations and their durations by Task state.
  const handlers = Object.fromEntries(
    Object.entries(makeTaskHandlers(deps)).map(([state, handler]) => [
      state,
      async (event: unknown, context: Parameters<typeof handler>[1]) => {
        const t = performance.now();
        try {
          const result = await handler(event, context);
          if (state === 'HashObject') counts.hashEngine = (result as { engine?: string }).engine ?? 'none';
          return result;
        } finally {
          const c = (counts.invocations[state] ??= { count: 0, ms: 0 });
          c.count++;
          c.ms += performance.now() - t;
        }
      },
    ]),
  );
  const marks: Record<string, number> = {};
  try {
    const started = performance.now();
    const cpuBefore = process.cpuUsage();
    const loopBefore = performance.eventLoopUtilization();
    const output = await runTransfer(
      {
        source: { bucket: job.bucket, key: job.key },
        destination: { folderId: '0', fileName: job.name },
        onConflict: 'fail',
        options: { concurrency: job.concurrency },
      },
      {
        deps,
        handlers,
        onEvent: (e) => {
          const at = performance.now() - started;
          if (e.type === 'state-entered') {
            counts.transitions++;
            counts.statesEntered[e.state] = (counts.statesEntered[e.state] ?? 0) + 1;
          }
          else if (e.type === 'prepared') marks.preparedMs = at;
          else if (e.type === 'batch-done') marks.partsDoneMs = at; // the last one wins
          else if (e.type === 'hash-progress' && e.done) marks.hashDoneMs = at;
        },
      },
    );
    const ms = performance.now() - started;
    const cpu = process.cpuUsage(cpuBefore);
    // How long the runner's one event loop was busy (the sweep's "why it stops scaling").
    marks.loopActiveMs = performance.eventLoopUtilization(loopBefore).active;
    return { ms, cpuMs: (cpu.user + cpu.system) / 1000, fileId: output.file.id, sha1: output.file.sha1, marks, parts: output.parts, mode: output.mode, counts };
  } finally {
    await box.close();
    s3.destroy();
  }
}

/** box-node-sdk's uploadBigFile, its stream the S3 object's GetObject body (the SDK's own way to move an S3 object). */
async function runSdkFromS3(job: Extract<Job, { kind: 'sdk-s3' }>): Promise<Omit<JobResult, 'memory' | 'processCpuMs'>> {
  const { localS3Client } = await import('../local/runner/local-s3-client.ts');
  const { GetObjectCommand, HeadObjectCommand } = await import('@aws-sdk/client-s3');
  const { sdkClient } = await import('./sdk.ts');
  const s3 = localS3Client(job.s3Endpoint);
  const client = sdkClient(job.target);
  try {
    const { value: file, ms, cpuMs } = await measured(async () => {
      const head = await s3.send(new HeadObjectCommand({ Bucket: job.bucket, Key: job.key }));
      const res = await s3.send(new GetObjectCommand({ Bucket: job.bucket, Key: job.key }));
      return client.chunkedUploads.uploadBigFile(res.Body as Readable, job.name, head.ContentLength ?? 0, '0');
    });
    return { ms, cpuMs, fileId: file.id, sha1: file.sha1 ?? '' };
  } finally {
    s3.destroy();
  }
}

/**
 * SHA-1 of the same bytes three ways, in-process, 8 MiB updates (the HashObject read size):
 * node:crypto; hash-wasm in one go; hash-wasm saved and reloaded into a fresh hasher every
 * `sliceBytes` (what the HashObject loop does between invocations). All three digests must agree.
 */
async function runHashCpu(job: Extract<Job, { kind: 'hash-cpu' }>): Promise<Omit<JobResult, 'memory' | 'processCpuMs'>> {
  const { createSHA1 } = await import('hash-wasm');
  const { generatedBytes } = await import('../local/runner/index.ts');
  const CHUNK = 8 * 1024 * 1024;
  // A pool of distinct 8 MiB chunks reused in turn: the data stream is `size` bytes without holding them all.
  const pool: Buffer[] = [];
  for await (const chunk of generatedBytes(Math.min(job.size, 64 * 1024 * 1024), 'hash-bench', CHUNK)) pool.push(chunk);
  const chunks = Math.ceil(job.size / CHUNK);
  const chunkAt = (i: number): Buffer => {
    const c = pool[i % pool.length]!;
    const left = job.size - i * CHUNK;
    return left >= c.length ? c : c.subarray(0, left);
  };
  const marks: Record<string, number> = {};
  const digests: Record<string, string> = {};

  let t = performance.now();
  const node = createHash('sha1');
  for (let i = 0; i < chunks; i++) node.update(chunkAt(i));
  digests.node = node.digest('hex');
  marks.nodeCryptoMs = performance.now() - t;

  t = performance.now();
  const wasm = await createSHA1();
  wasm.init();
  for (let i = 0; i < chunks; i++) wasm.update(chunkAt(i));
  digests.wasm = wasm.digest('hex');
  marks.hashWasmMs = performance.now() - t;

  t = performance.now();
  let state: Uint8Array | undefined;
  let reloads = 0;
  let sinceSave = 0;
  let hasher = await createSHA1();
  hasher.init();
  for (let i = 0; i < chunks; i++) {
    const c = chunkAt(i);
    hasher.update(c);
    sinceSave += c.length;
    if (sinceSave >= job.sliceBytes && i < chunks - 1) {
      // An invocation ends: save the state; the next one starts from a fresh hasher.
      state = hasher.save();
      hasher = await createSHA1();
      hasher.init();
      hasher.load(state);
      reloads++;
      sinceSave = 0;
    }
  }
  digests.wasmResumed = hasher.digest('hex');
  marks.hashWasmResumedMs = performance.now() - t;
  marks.reloads = reloads;
  const agree = digests.node === digests.wasm && digests.node === digests.wasmResumed;
  return { ms: marks.nodeCryptoMs, marks, sha1: agree ? (digests.node ?? '') : `DISAGREE ${JSON.stringify(digests)}` };
}

/**
 * The HashObject code path (hashSlice: ranged GETs read at once, as many as its thread waits on, hashed in order;
 * node:crypto when the object fits the invocation, and the resumable hash-wasm slices) over the s3rver object,
 * against the raw read of the same object: `pairs` raw/hash pairs in ABBA order (raw first in even pairs, the hash
 * first in odd ones), so neither always runs first or on a warmer machine. Marks per pair i: pair{i}ReadMs,
 * pair{i}HashMs, their CPU, and the most ranges the hash had in flight.
 */
async function runHashS3(job: Extract<Job, { kind: 'hash-s3' }>): Promise<Omit<JobResult, 'memory' | 'processCpuMs'>> {
  const { localS3Client } = await import('../local/runner/local-s3-client.ts');
  const { hashSlice } = await import('../src/transfer/hash.ts');
  const { pinSource, openObjectStream } = await import('../src/transfer/s3source.ts');
  const { DEFAULT_SETTINGS } = await import('../src/transfer/settings.ts');
  const s3 = localS3Client(job.s3Endpoint);
  try {
    const source = await pinSource(s3, { bucket: job.bucket, key: job.key });
    const marks: Record<string, number> = {};
    const cpuMsSince = (before: NodeJS.CpuUsage): number => {
      const used = process.cpuUsage(before);
      return (used.user + used.system) / 1000;
    };
    // One untimed read first, so that the first timed read does not pay for cold caches and JIT.
    for await (const chunk of await openObjectStream(s3, source)) void chunk;
    /** Reading alone (one GetObject stream, read and dropped): what s3rver can serve. */
    const rawRead = async (i: number): Promise<void> => {
      const t = performance.now();
      const cpu = process.cpuUsage();
      let read = 0;
      for await (const chunk of await openObjectStream(s3, source)) read += (chunk as Buffer).length;
      marks[`pair${i}ReadMs`] = performance.now() - t;
      marks[`pair${i}ReadCpuMs`] = cpuMsSince(cpu);
      if (read !== source.size) throw new Error(`read ${read} of ${source.size} bytes`);
    };
    const digests = new Set<string>();
    /** hashSlice, one invocation over the whole object (the default when the deadline allows). */
    const hashObject = async (i: number): Promise<void> => {
      let ranges = 0;
      const t = performance.now();
      const cpu = process.cpuUsage();
      const progress = await hashSlice(s3, { ...source, sha1: undefined }, undefined, {
        settings: DEFAULT_SETTINGS,
        remainingMs: () => 15 * 60_000,
        onRead: (e) => (ranges = Math.max(ranges, e.inFlight)),
      });
      marks[`pair${i}HashMs`] = performance.now() - t;
      marks[`pair${i}HashCpuMs`] = cpuMsSince(cpu);
      marks[`pair${i}HashRanges`] = ranges;
      if (!progress.done || progress.sha1 === undefined) throw new Error('hashSlice did not finish in one invocation');
      marks.hashSliceNodeCrypto = progress.engine === 'node:crypto' ? 1 : 0;
      digests.add(progress.sha1);
    };
    marks.pairs = job.pairs;
    for (let i = 0; i < job.pairs; i++) {
      if (i % 2 === 0) {
        await rawRead(i);
        await hashObject(i);
      } else {
        await hashObject(i);
        await rawRead(i);
      }
    }
    // The medians of the pairs, under the names one sample had (the uploads bench's hash rows read these).
    const { median } = await import('./stats.ts');
    const medianOf = (what: string): number => median(Array.from({ length: job.pairs }, (_, i) => marks[`pair${i}${what}`] ?? Number.NaN));
    marks.readOnlyMs = medianOf('ReadMs');
    marks.readOnlyCpuMs = medianOf('ReadCpuMs');
    marks.hashSliceMs = medianOf('HashMs');
    marks.hashSliceCpuMs = medianOf('HashCpuMs');
    const [sha1Base64] = [...digests];
    if (digests.size !== 1 || sha1Base64 === undefined) throw new Error(`hashSlice gave ${digests.size} digests`);
    // Like for like (review S16; reported, not judged): the raw read over as many ranged streams as the hash
    // opened at most, read and dropped (the judged raw read stays one GetObject stream).
    marks.rangedStreams = Math.max(1, ...Array.from({ length: job.pairs }, (_, i) => marks[`pair${i}HashRanges`] ?? 1));
    let t = performance.now();
    await readRanged(s3, source, marks.rangedStreams);
    marks.rangedReadMs = performance.now() - t;
    // One GetObject stream into node:crypto.
    t = performance.now();
    const node = createHash('sha1');
    for await (const chunk of await openObjectStream(s3, source)) node.update(chunk as Buffer);
    const nodeSha1 = node.digest('base64');
    marks.nodeStreamMs = performance.now() - t;
    // The resumable path (hash-wasm), as an object that must cross invocations hashes: slices of a quarter each.
    t = performance.now();
    let resumed: Awaited<ReturnType<typeof hashSlice>> | undefined;
    const sliced = { ...DEFAULT_SETTINGS, hashSliceBytes: Math.ceil(source.size / 4 / 64) * 64 };
    do {
      resumed = await hashSlice(s3, { ...source, sha1: undefined }, resumed, { settings: sliced, remainingMs: () => 15 * 60_000 });
    } while (!resumed.done);
    marks.hashWasmSlicesMs = performance.now() - t;
    marks.hashWasmSlices = resumed.invocations;
    if (resumed.sha1 !== sha1Base64) throw new Error(`resumable hash ${resumed.sha1} differs from ${sha1Base64}`);
    marks.rangesInFlight = DEFAULT_SETTINGS.hashRangesInFlight;
    marks.rangeBytes = DEFAULT_SETTINGS.hashRangeBytes;
    let shapedSha1 = sha1Base64;
    if (job.shapedEndpoint !== undefined) shapedSha1 = await shapedReads(job.shapedEndpoint, source, marks);
    const sha1 = Buffer.from(sha1Base64, 'base64').toString('hex');
    const agree = nodeSha1 === sha1Base64 && shapedSha1 === sha1Base64;
    return { ms: marks.hashSliceMs, marks, sha1: agree ? sha1 : `DISAGREE node ${nodeSha1} hashSlice ${sha1Base64} shaped ${shapedSha1}` };
  } finally {
    s3.destroy();
  }
}

/** The raw read over `streams` ranged GETs of the hash's range size, each reader taking the next range: read and dropped. */
async function readRanged(s3: S3Client, source: SourceObject, streams: number): Promise<void> {
  const { streamRange } = await import('../src/transfer/s3source.ts');
  const { DEFAULT_SETTINGS } = await import('../src/transfer/settings.ts');
  const { hashRangeBytes } = DEFAULT_SETTINGS;
  let next = 0;
  await Promise.all(
    Array.from({ length: streams }, async () => {
      while (next < source.size) {
        const offset = next;
        next += hashRangeBytes;
        await streamRange(s3, source, offset, Math.min(hashRangeBytes, source.size - offset), { onChunk: () => undefined });
      }
    }),
  );
}

/**
 * The same object through the per-connection bandwidth cap: one GetObject stream, the ranged GETs of the
 * hash's defaults read k at a time and dropped (what k connections carry), and the HashObject path (which
 * opens ranges as its thread waits, up to k: shapedHashRanges is the most it had in flight). Returns the
 * HashObject path's digest.
 */
async function shapedReads(endpoint: string, source: SourceObject, marks: Record<string, number>): Promise<string> {
  const { localS3Client } = await import('../local/runner/local-s3-client.ts');
  const { hashSlice } = await import('../src/transfer/hash.ts');
  const { openObjectStream } = await import('../src/transfer/s3source.ts');
  const { DEFAULT_SETTINGS } = await import('../src/transfer/settings.ts');
  const s3 = localS3Client(endpoint);
  try {
    let t = performance.now();
    let read = 0;
    for await (const chunk of await openObjectStream(s3, source)) read += (chunk as Buffer).length;
    marks.shapedOneStreamMs = performance.now() - t;
    if (read !== source.size) throw new Error(`shaped: read ${read} of ${source.size} bytes`);
    // k readers, each taking the next range: the raw read over k parallel ranged streams.
    t = performance.now();
    await readRanged(s3, source, DEFAULT_SETTINGS.hashRangesInFlight);
    marks.shapedParallelMs = performance.now() - t;
    t = performance.now();
    let ranges = 0;
    const progress = await hashSlice(s3, { ...source, sha1: undefined }, undefined, {
      settings: DEFAULT_SETTINGS,
      remainingMs: () => 15 * 60_000,
      onRead: (e) => (ranges = Math.max(ranges, e.inFlight)),
    });
    marks.shapedHashSliceMs = performance.now() - t;
    marks.shapedHashRanges = ranges;
    if (!progress.done || progress.sha1 === undefined) throw new Error('shaped: hashSlice did not finish in one invocation');
    return progress.sha1;
  } finally {
    s3.destroy();
  }
}

/**
 * This process's CPU ms by thread kind (Linux: /proc/self/task): the main thread (JavaScript, the one a CPU
 * profile samples), V8's workers (garbage collection helpers and the optimizing compiler), the CPU profiler's
 * own thread (with --cpu-prof), libuv's pool, others.
 */
async function cpuByThread(): Promise<Record<string, number> | undefined> {
  const { readdir, readFile } = await import('node:fs/promises');
  try {
    const byKind: Record<string, number> = {};
    for (const tid of await readdir('/proc/self/task')) {
      const stat = await readFile(`/proc/self/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const ms = ((Number(fields[11]) + Number(fields[12])) * 1000) / 100; // utime + stime, in clock ticks of 10 ms
      // Node names its platform workers (V8's GC helpers and optimizing compiler) "node", like the main thread.
      const kind = tid === String(process.pid) ? 'main' : name === 'node' ? 'V8 workers' : name.startsWith('v8:Prof') ? 'CPU profiler' : name.startsWith('libuv') ? 'libuv pool' : 'other';
      byKind[kind] = (byKind[kind] ?? 0) + ms;
    }
    return byKind;
  } catch {
    return undefined;
  }
}

async function main(): Promise<void> {
  // As bin/s3-to-box.js does for the CLI: Node's on-disk cache of compiled code, before any module of the job
  // loads (bench/child-start.js, the bench's entry, also sets up the CLI's other start-up caches and hooks).
  (await import('node:module')).enableCompileCache?.();
  const job = JSON.parse(process.argv[2] ?? '') as Job;
  const stop = startMemorySampler();
  const result = await runJob(job);
  const memory = stop();
  const usage = process.resourceUsage();
  const processCpuMs = (usage.userCPUTime + usage.systemCPUTime) / 1000;
  const threadCpuMs = await cpuByThread();
  process.stdout.write(`\n${JSON.stringify({ ...result, memory, processCpuMs, ...(threadCpuMs === undefined ? {} : { threadCpuMs }) } satisfies JobResult)}\n`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench child failed: ${error instanceof Error ? `${error.name}: ${error.message}\n${error.stack ?? ''}` : String(error)}\n`);
    process.exit(1);
  },
);
