// The tracing measurement's pieces that decide its numbers (how a segment datagram is counted, the trace
// header, the environment that switches tracing) and what BENCHMARKS.md shows from them: the tracing rows,
// the cost model's CloudWatch Logs and X-Ray items, the CLI's warm and cold starts.
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { lambdaProcessOf, lambdaSizeByState, serverlessConfig } from '../../bench/bundles.ts';
import { HASH_IN_AWS, PRICES, costModel, hashInAws, plannedCounts, renderCli, renderCost } from '../../bench/speed.ts';
import { planBatches } from '../../src/transfer/plan.ts';
import { DEFAULT_SETTINGS } from '../../src/transfer/settings.ts';
import { lambdaEnvironment, observedOf, otherLoadDuringProcess, PLATFORM_LOG_BYTES, readSegmentDatagram, renderTracing, traceHeader } from '../../bench/tracing.ts';
import type { SegmentCounts, TracedInvocation, TracedProcess, TracingResults } from '../../bench/tracing.ts';
import { tracingRuns } from '../../functions/observability.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const HEADER = '{"format": "json", "version": 1}\n';

describe('readSegmentDatagram', () => {
  it('counts a document by its trace id: bytes, subsegments (nested ones too), AWS SDK and other HTTP calls', () => {
    const byTrace = new Map<string, SegmentCounts>();
    const handler = {
      trace_id: '1-674d8a4f-aaaaaaaaaaaaaaaaaaaaaaaa',
      name: '## index.handler',
      subsegments: [
        { name: 'S3', namespace: 'aws', subsegments: [{ name: 'Attempt 1' }] },
        { name: 'upload.box.com', namespace: 'remote' },
      ],
    };
    const first = Buffer.from(HEADER + JSON.stringify(handler));
    const second = Buffer.from(HEADER + JSON.stringify({ trace_id: handler.trace_id, name: 'api.box.com', namespace: 'remote' }));
    expect(readSegmentDatagram(first, byTrace)).toBe(handler.trace_id);
    expect(readSegmentDatagram(second, byTrace)).toBe(handler.trace_id);
    expect(byTrace.get(handler.trace_id)).toEqual({
      datagrams: 2,
      bytes: first.length + second.length,
      subsegments: 5,
      awsCalls: 1,
      httpCalls: 2,
      // What each document records, by its own namespace: the first is the handler's, the second a Box request's.
      handlerBytes: first.length,
      awsBytes: 0,
      httpBytes: second.length,
    });
  });

  it('names no trace for a datagram it cannot read, and counts nothing for it', () => {
    const byTrace = new Map<string, SegmentCounts>();
    expect(readSegmentDatagram(Buffer.from(`${HEADER}{not json`), byTrace)).toBeUndefined();
    expect(readSegmentDatagram(Buffer.from(`${HEADER}{"name":"no trace id"}`), byTrace)).toBeUndefined();
    expect(byTrace.size).toBe(0);
  });
});

describe('the traced environment', () => {
  it('writes a sampled trace header whose root is what the documents carry as trace_id', () => {
    const { header, root } = traceHeader(Date.UTC(2026, 11, 2));
    expect(header).toMatch(/^Root=1-[0-9a-f]{8}-[0-9a-f]{24};Parent=[0-9a-f]{16};Sampled=1$/);
    expect(header.startsWith(`Root=${root};`)).toBe(true);
    expect(root.slice(2, 10)).toBe((Date.UTC(2026, 11, 2) / 1000).toString(16));
    expect(traceHeader().root).not.toBe(traceHeader().root);
  });

  it('switches tracing on and off by the rule the Lambdas follow (functions/observability.ts)', () => {
    const on = lambdaEnvironment('commit', 512, 'on', { LOG_LEVEL: 'info' }, '127.0.0.1:2000');
    const off = lambdaEnvironment('commit', 512, 'off', { LOG_LEVEL: 'info' }, '127.0.0.1:2000');
    expect(tracingRuns(on)).toBe(true);
    expect(tracingRuns(off)).toBe(false);
    expect(on).toMatchObject({ AWS_XRAY_DAEMON_ADDRESS: '127.0.0.1:2000', AWS_LAMBDA_FUNCTION_NAME: 's3-to-box-dev-commit', AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '512', LOG_LEVEL: 'info' });
    expect(on.LAMBDA_TASK_ROOT).toBeDefined(); // the X-Ray SDK runs in its Lambda mode only with it
  });
});

describe('otherLoadDuringProcess', () => {
  // Machine readings over one second of wall time: /proc/stat counts 100 jiffies per core per second.
  const cores = os.availableParallelism();
  const reading = (busyCores: number) => ({ before: { busy: 0, total: 0 }, after: { busy: 100 * busyCores, total: 100 * cores } });

  it('counts the function\'s own process as the bench\'s, not as other load', () => {
    // 1.3 cores busy: 0.3 in the servers of the bench, 0.9 in the function's process, 0.1 elsewhere.
    const { before, after } = reading(1.3);
    expect(otherLoadDuringProcess(before, after, 300, 900, 1000)).toBeCloseTo(0.1, 9);
    // Without the function's CPU, its work would read as 0.9 cores of other load.
    expect(otherLoadDuringProcess(before, after, 300, 0, 1000)).toBeCloseTo(1.0, 9);
  });

  it('is never below zero, and unknown (NaN) without machine readings', () => {
    const { before, after } = reading(1);
    expect(otherLoadDuringProcess(before, after, 400, 900, 1000)).toBe(0);
    expect(otherLoadDuringProcess(undefined, after, 300, 900, 1000)).toBeNaN();
  });
});

function invocation(fn: string, mode: 'off' | 'on', index: number, ms: number, cpuMs: number, more: Partial<TracedInvocation> = {}): TracedInvocation {
  return { fn, mode, round: 1, index, objectBytes: 32 * 1024 * 1024, ms, cpuMs, logBytes: 1000, logLines: 2, datagrams: 0, bytes: 0, subsegments: 0, awsCalls: 0, httpCalls: 0, handlerBytes: 0, awsBytes: 0, httpBytes: 0, ...more };
}

function processRow(fn: string, mode: 'off' | 'on', importMs: number): TracedProcess {
  return { fn, mode, round: 1, importMs, importCpuMs: importMs, importLogBytes: 0, otherCores: 0.1 };
}

const traced = { datagrams: 9, bytes: 3600, subsegments: 9, awsCalls: 4, httpCalls: 4, handlerBytes: 400, awsBytes: 1600, httpBytes: 1600 };

const RESULTS: TracingResults = {
  objectBytes: 32 * 1024 * 1024,
  partBytes: 8 * 1024 * 1024,
  parts: 4,
  invocationsPerProcess: 3,
  rounds: 1,
  logLevel: 'info',
  strayDatagrams: 0,
  processes: [processRow('uploadBatch', 'off', 150), processRow('uploadBatch', 'on', 160)],
  invocations: [
    invocation('uploadBatch', 'off', 0, 500, 300),
    invocation('uploadBatch', 'off', 1, 300, 170),
    invocation('uploadBatch', 'off', 2, 310, 180),
    invocation('uploadBatch', 'on', 0, 560, 340, { ...traced, datagrams: 12 }),
    invocation('uploadBatch', 'on', 1, 320, 186, { ...traced, logBytes: 1100, logLines: 3 }),
    invocation('uploadBatch', 'on', 2, 330, 190, { ...traced, logBytes: 1100, logLines: 3 }),
  ],
};

describe('renderTracing', () => {
  it('shows cold starts and warm invocations side by side, and the extra CPU per invocation and per traced call', () => {
    const text = renderTracing(RESULTS);
    // cold: import 150 / 160, first invocation 500 / 560 ms, CPU 300 / 340 (+40)
    expect(text).toContain('| uploadBatch | 150 / 160 | 500 / 560 | 300 / 340 | +40 |');
    // warm: medians of invocations 1 and 2: CPU 175 / 188 -> +13 ms (+7 %), over 8 traced calls +1.63 ms each
    expect(text).toContain('| uploadBatch | 4 / 4 | 305.0 / 325.0 | 175.0 / 188.0 | +13.0 (+7 %) | +1.63 | 9 / 3600 | 1000 (2) / 1100 (3) | 0.10 |');
    expect(text).toContain('tracing took +13.0 CPU ms (+7.4 % of 175)');
  });

  it('shows the big object\'s hash apart, per GiB and per traced GET, and keeps it out of the small object\'s rows', () => {
    const big = 512 * 1024 * 1024;
    const hash = (mode: 'off' | 'on', round: number, cpuMs: number): TracedInvocation => ({
      ...invocation('hashObject', mode, 10, cpuMs * 3, cpuMs, mode === 'on' ? { ...traced, datagrams: 65, bytes: 26_000, awsCalls: 64, httpCalls: 0 } : {}),
      round,
      objectBytes: big,
    });
    const withBig: TracingResults = { ...RESULTS, bigObjectBytes: big, invocations: [...RESULTS.invocations, hash('off', 1, 700), hash('on', 1, 800), hash('off', 2, 720), hash('on', 2, 820)] };
    const text = renderTracing(withBig);
    // Medians 710 / 810 CPU ms over 0.5 GiB: 1.42 / 1.62 CPU-s per GiB, +14 %, +200 CPU ms per GiB.
    expect(text).toContain('2130 / 2430 ms wall, 710 / 810 CPU ms off / on, that is 1.42 / 1.62 CPU-s per GiB: tracing adds **+14 %** of the hash path\'s CPU (+200 CPU ms per GiB)');
    expect(text).toContain('(64 traced GETs, 26000 bytes of segment documents)');
    expect(text).not.toContain('| hashObject |');
    expect(text).toContain('| uploadBatch | 4 / 4 | 305.0 / 325.0 | 175.0 / 188.0 |');
    expect(observedOf(withBig)).toEqual(observedOf(RESULTS));
  });

  it('gives the cost model the warm invocations with tracing on, by Task state, and the bytes per S3 request and part upload', () => {
    expect(observedOf(RESULTS)).toEqual({
      byState: { UploadBatch: { logBytes: 1100, logLines: 3, segmentDocuments: 9, segmentBytes: 3600, handlerBytes: 400, httpBytes: 1600, httpCalls: 4 } },
      s3CallBytes: 400,
      partUploadBytes: 400,
    });
  });
});

/** What the cost model reads of a pipeline run besides its counts. */
const PIPELINE_RUN = {
  who: 'pipeline' as const,
  size: 1e9,
  rep: 1,
  ms: 10_000,
  cpuMs: 1,
  serverCpuMs: 1,
  otherCores: 0,
  rssBytes: 1,
  marks: {},
};

describe('the cost model with CloudWatch Logs and X-Ray', () => {
  const run = {
    ...PIPELINE_RUN,
    parts: 8,
    counts: {
      transitions: 10,
      statesEntered: { Prepare: 1, UploadBatch: 4, Commit: 1 },
      invocations: { Prepare: { count: 1, ms: 1000 }, UploadBatch: { count: 4, ms: 8000 }, Commit: { count: 1, ms: 1000 } },
      s3Requests: { GetObjectCommand: 100 },
    },
  };
  const memory = { Prepare: { memoryMb: 512, architecture: 'arm64' }, UploadBatch: { memoryMb: 2048, architecture: 'arm64' }, Commit: { memoryMb: 1024, architecture: 'arm64' } } as const;
  const observed = {
    byState: {
      Prepare: { logBytes: 1000, logLines: 2, segmentDocuments: 4, segmentBytes: 1500, handlerBytes: 300, httpBytes: 800, httpCalls: 2 },
      UploadBatch: { logBytes: 2000, logLines: 3, segmentDocuments: 9, segmentBytes: 4000, handlerBytes: 400, httpBytes: 1800, httpCalls: 4 },
      Commit: { logBytes: 1500, logLines: 3, segmentDocuments: 3, segmentBytes: 1200, handlerBytes: 350, httpBytes: 850, httpCalls: 2 },
    },
    s3CallBytes: 380,
    partUploadBytes: 450,
  };

  it('prices the measured log bytes (plus Lambda\'s own lines) and one X-Ray trace per transfer, scaling what repeats', () => {
    const [line] = costModel(run, [10], memory, observed);
    // Prepare and Commit once, UploadBatch once per batch the code plans for 10 GB.
    const { batches, parts } = plannedCounts(10e9);
    expect(line?.planned).toEqual(plannedCounts(10e9));
    const logBytes = 1000 + 1500 + batches * 2000 + (2 + batches) * PLATFORM_LOG_BYTES;
    expect(line?.logBytes).toBeCloseTo(logBytes, 6);
    // Handler documents of every invocation, Prepare's and Commit's Box requests, then one S3 GET and one part upload per part (no HashObject in this run).
    expect(line?.s3Requests).toBe(parts);
    expect(line?.traceBytes).toBeCloseTo(300 + 800 + 350 + 850 + batches * 400 + parts * 380 + parts * 450, 6);
    expect(line?.dollars.logs).toBeCloseTo((logBytes / 1e9) * (PRICES.logsIngestedPerGB + PRICES.logsStoredPerGBMonth), 12);
    expect(line?.dollars.xray).toBe(PRICES.xrayTraceRecorded);
    // Memory from the map: (1 s x 0.5 GB + 1 s x 1 GB) + 10 x 8 s x 2 GB.
    expect(line?.gbSeconds).toBeCloseTo(1.5 + 160, 6);
    const d = line?.dollars;
    expect(d?.total).toBeCloseTo((d?.transitions ?? 0) + (d?.lambda ?? 0) + (d?.s3 ?? 0) + (d?.dataOut ?? 0) + (d?.logs ?? 0) + (d?.xray ?? 0), 12);
  });

  it('leaves logs and X-Ray out, saying so, when they were not measured or a function was not', () => {
    const [line] = costModel(run, [10], memory);
    expect(line?.logBytes).toBeUndefined();
    expect(line?.dollars.logs).toBeUndefined();
    const partial = costModel(run, [10], memory, { ...observed, byState: { UploadBatch: observed.byState.UploadBatch } });
    expect(partial[0]?.dollars.logs).toBeUndefined();
    // The parts are the plan's, not the run's: a run that did not count them still prices its logs.
    expect(costModel({ ...run, parts: undefined }, [10], memory, observed)[0]?.dollars.logs).toBeDefined();
    const text = renderCost(run, memory, undefined);
    expect(text).toContain('| not measured | not measured |');
    expect(text).toContain('CloudWatch Logs and X-Ray were not measured in this run');
  });

  it('counts no X-Ray bytes for a function serverless.yml ships untraced: neither its handler documents nor the S3 GETs it sends', () => {
    const hashed = {
      ...run,
      counts: {
        ...run.counts,
        statesEntered: { ...run.counts.statesEntered, HashObject: 1, HashDone: 1 },
        invocations: { ...run.counts.invocations, HashObject: { count: 1, ms: 4000 } },
      },
    };
    const withHash = { ...observed, byState: { ...observed.byState, HashObject: { logBytes: 800, logLines: 1, segmentDocuments: 1, segmentBytes: 400, handlerBytes: 420, httpBytes: 0, httpCalls: 0 } } };
    const untraced = { ...memory, HashObject: { memoryMb: 1769, architecture: 'arm64', traced: false } } as const;
    const { batches, parts, hashSlices, hashGets } = plannedCounts(10e9);
    const [line] = costModel(hashed, [10], untraced, withHash);
    // As without HashObject: its handler documents and its ranged GETs add nothing; its GETs are still billed.
    expect(line?.traceBytes).toBeCloseTo(300 + 800 + 350 + 850 + batches * 400 + parts * 380 + parts * 450, 6);
    expect(line?.s3Requests).toBe(parts + hashGets);
    // Traced, they count.
    const [tracedLine] = costModel(hashed, [10], { ...untraced, HashObject: { ...untraced.HashObject, traced: true } }, withHash);
    expect((tracedLine?.traceBytes ?? 0) - (line?.traceBytes ?? 0)).toBeCloseTo(hashSlices * 420 + hashGets * 380, 6);
  });

  it('reads from serverless.yml which functions ship untraced: HashObject, and only it', async () => {
    const sizes = await lambdaSizeByState();
    expect(sizes.HashObject?.traced).toBe(false);
    expect(Object.entries(sizes).filter(([, f]) => f.traced === false).map(([s]) => s)).toEqual(['HashObject']);
  });

  it('refuses a Task state serverless.yml has no function for, rather than guessing its memory', () => {
    expect(() => costModel(run, [10], { Prepare: memory.Prepare, Commit: memory.Commit })).toThrow(/UploadBatch/);
  });

  it('shows the formula with the new items, the memory it used and the X-Ray trace-size limit it passes', () => {
    const tracing: TracingResults = {
      ...RESULTS,
      invocations: ['prepare', 'uploadBatch', 'commit'].flatMap((fn) => [invocation(fn, 'on', 1, 10, 10, { ...traced, handlerBytes: 30_000, logBytes: 1000 })]),
    };
    const text = renderCost(run, memory, tracing);
    expect(text).toContain(`+ log GB x ($${PRICES.logsIngestedPerGB} ingested + $${PRICES.logsStoredPerGBMonth} for the month stored) + 1 trace x $0.000005`);
    expect(text).toContain('Lambda memory and architecture as in serverless.yml (Prepare 512 MB arm64, UploadBatch 2048 MB arm64, Commit 1024 MB arm64)');
    expect(text).toContain('GB-second price: arm64 $0.0000133334, x86_64 $0.0000166667)');
    expect(text).toContain('read 2026-12-02');
    // 30,000-byte handler documents (one per invocation, a batch's each), and 400 bytes per S3 request and per part upload:
    // past 100 KiB at every size shown.
    expect(text).toContain("the functions' own segment documents (the trace data column) pass it at 10 GB, 100 GB, 500 GB");
    // One trace, priced without rounding it away.
    expect(text).toMatch(/\| \$0\.000005 \| \*\*/);
  });
});

describe('the cost model\'s Lambda price by architecture', () => {
  const run = {
    ...PIPELINE_RUN,
    counts: {
      transitions: 10,
      statesEntered: { Prepare: 1, UploadBatch: 4 },
      invocations: { Prepare: { count: 1, ms: 2000 }, UploadBatch: { count: 4, ms: 8000 } },
      s3Requests: {},
    },
  };

  it('prices arm64 GB-seconds at the arm64 rate, 20 % below x86_64\'s', () => {
    expect(PRICES.lambdaGbSecond.arm64).toBe(0.0000133334);
    expect(PRICES.lambdaGbSecond.x86_64).toBe(0.0000166667);
    const on = (architecture: 'arm64' | 'x86_64') => costModel(run, [1], { Prepare: { memoryMb: 1024, architecture }, UploadBatch: { memoryMb: 2048, architecture } })[0];
    const arm = on('arm64');
    const x86 = on('x86_64');
    // 2 s x 1 GB + 8 s x 2 GB = 18 GB-s, the same on both; Prepare and the planned batches at $0.20 a million requests.
    const requests = (1 + plannedCounts(1e9).batches) * 0.0000002;
    expect(arm?.gbSeconds).toBeCloseTo(18, 9);
    expect(arm?.gbSecondsByArchitecture).toEqual({ arm64: 18, x86_64: 0 });
    expect(arm?.dollars.lambda).toBeCloseTo(18 * 0.0000133334 + requests, 12);
    expect(x86?.dollars.lambda).toBeCloseTo(18 * 0.0000166667 + requests, 12);
    expect(((arm?.dollars.lambda ?? 0) - requests) / ((x86?.dollars.lambda ?? 0) - requests)).toBeCloseTo(0.8, 4);
  });

  it('prices each function at its own architecture\'s rate when they differ, scaling what repeats', () => {
    const [line] = costModel(run, [10], { Prepare: { memoryMb: 1024, architecture: 'x86_64' }, UploadBatch: { memoryMb: 2048, architecture: 'arm64' } });
    // Prepare once on x86_64 (2 GB-s); UploadBatch's time per byte x 10 GB at 2 GB on arm64.
    expect(line?.gbSecondsByArchitecture).toEqual({ arm64: 160, x86_64: 2 });
    expect(line?.gbSeconds).toBeCloseTo(162, 9);
    expect(line?.dollars.lambda).toBeCloseTo(160 * 0.0000133334 + 2 * 0.0000166667 + (1 + plannedCounts(10e9).batches) * 0.0000002, 12);
  });
});

describe('the cost model\'s counts come from the code, not scaled from the run', () => {
  it('at 500 GB: Box-like parts (10,000 at most), the batches planBatches makes (never past maxBatches), hash slices at the stated rate', () => {
    const p = plannedCounts(500e9);
    expect(p.parts).toBeLessThanOrEqual(10_000);
    expect(p.parts).toBe(Math.ceil(500e9 / p.partSize));
    expect(p.batches).toBeLessThanOrEqual(DEFAULT_SETTINGS.maxBatches);
    expect(p.batches).toBe(planBatches(p.parts, p.partSize, DEFAULT_SETTINGS.defaultConcurrency, DEFAULT_SETTINGS).batches.length);
    // 500 GB does not fit half an invocation at node:crypto's rate, min(8 x 85, 900) MB/s (735 s > 435 s):
    // hash-wasm at min(8 x 85, 350) MB/s is 1,429 s of hashing, two invocations of 870 s.
    expect(HASH_IN_AWS.invocationSeconds).toBe(870);
    expect(p.hashEngine).toBe('hash-wasm');
    expect(p.hashSeconds).toBeCloseTo(500e9 / 350e6, 6);
    expect(p.hashSlices).toBe(2);
    expect(p.hashGets).toBe(Math.ceil(500e9 / DEFAULT_SETTINGS.hashRangeBytes));
  });

  it('hashes what fits half an invocation with node:crypto in one slice, as hash.ts decides', () => {
    for (const gb of [10, 100]) {
      const p = plannedCounts(gb * 1e9);
      expect(p.hashEngine).toBe('node:crypto');
      // Bound by the 8 ranged GETs at 85 MB/s each (680 MB/s), under node:crypto's 900.
      expect(p.hashSeconds).toBeCloseTo((gb * 1e9) / 680e6, 6);
      expect(p.hashSlices).toBe(1);
    }
    // The edge: exactly half an invocation at node:crypto's rate still fits; a byte more does not.
    const nodeRate = Math.min(HASH_IN_AWS.s3BytesPerSecondPerConnection * DEFAULT_SETTINGS.hashRangesInFlight, HASH_IN_AWS.nodeCryptoBytesPerSecond);
    const edge = (HASH_IN_AWS.invocationSeconds / 2) * nodeRate;
    expect(hashInAws(edge, DEFAULT_SETTINGS.hashRangesInFlight).engine).toBe('node:crypto');
    expect(hashInAws(edge + 1e6, DEFAULT_SETTINGS.hashRangesInFlight).engine).toBe('hash-wasm');
    // One range in flight: S3's one connection bounds both hashers.
    expect(hashInAws(1e9, 1).bytesPerSecond).toBe(85e6);
  });

  it('prices those counts with what the run measured per batch, per slice and per transfer', () => {
    const run = {
      ...PIPELINE_RUN,
      size: 2 ** 30,
      parts: 86,
      counts: {
        // 8 batches and one hash slice entered UploadBatch 8 times and HashObject/HashDone once each; 12 other states.
        transitions: 22,
        statesEntered: { Prepare: 1, UploadBatch: 8, HashObject: 1, HashDone: 1, Commit: 2 },
        invocations: { Prepare: { count: 1, ms: 100 }, UploadBatch: { count: 8, ms: 18_600 }, HashObject: { count: 1, ms: 3600 }, Commit: { count: 2, ms: 100 } },
        s3Requests: { HeadObjectCommand: 1, GetObjectCommand: 87 },
      },
    };
    const lambdas = { Prepare: { memoryMb: 512, architecture: 'arm64' }, UploadBatch: { memoryMb: 2048, architecture: 'arm64' }, HashObject: { memoryMb: 1769, architecture: 'arm64' }, Commit: { memoryMb: 512, architecture: 'arm64' } } as const;
    const [line] = costModel(run, [500], lambdas);
    const p = plannedCounts(500e9);
    expect(line?.transitions).toBe(12 + p.batches + 2 * p.hashSlices);
    expect(line?.invocations).toBe(1 + 2 + p.batches + p.hashSlices);
    expect(line?.s3Requests).toBe(1 + p.parts + p.hashGets);
    // HashObject's GB-s at the assumed rate, not the local run's 3.6 s per GiB.
    const gbS = 0.1 * 0.5 + 0.1 * 0.5 + 18.6 * (500e9 / 2 ** 30) * 2 + p.hashSeconds * (1769 / 1024);
    expect(line?.gbSeconds).toBeCloseTo(gbS, 6);
    expect(renderCost(run, lambdas, undefined)).toContain(`| 500 GB | ${p.parts} (${p.partSize / 2 ** 20} MiB) | ${p.batches} | ${p.hashSlices} (${p.hashEngine}) |`);
  });
});

describe('how the bench starts a function, from serverless.yml', () => {
  it('gives every function that moves bytes its exec wrapper, also where its environment merges more keys (hashObject)', async () => {
    for (const fn of ['directUpload', 'uploadBatch', 'hashObject', 'syncBatch']) {
      const started = await lambdaProcessOf(fn);
      expect(started.execWrapper, fn).toBe(path.join(ROOT, 'functions/exec-wrapper.sh'));
    }
    expect((await lambdaProcessOf('commit')).execWrapper).toBeUndefined();
    const yaml = await serverlessConfig();
    expect(yaml.functions.hashObject?.environment).toEqual({ AWS_LAMBDA_EXEC_WRAPPER: '/var/task/functions/exec-wrapper.sh', POWERTOOLS_TRACE_ENABLED: 'false' });
  });
});

describe('lambdaSizeByState', () => {
  it('reads every function\'s memory and architecture from serverless.yml, by Task state name', async () => {
    const yaml = await serverlessConfig();
    const byState = await lambdaSizeByState();
    expect(byState.UploadBatch?.memoryMb).toBe(yaml.functions.uploadBatch?.memorySize);
    expect(byState.HashObject?.memoryMb).toBe(yaml.functions.hashObject?.memorySize ?? yaml.provider.memorySize);
    expect(Object.keys(byState)).toHaveLength(Object.keys(yaml.functions).length);
    for (const [fn, f] of Object.entries(yaml.functions)) {
      const state = `${fn.charAt(0).toUpperCase()}${fn.slice(1)}`;
      expect(byState[state]?.architecture, fn).toBe(f.architecture ?? yaml.provider.architecture ?? 'x86_64');
    }
    // Every function is deployed on arm64 (the provider's setting): the cost model prices them all at its rate.
    expect(new Set(Object.values(byState).map((s) => s.architecture))).toEqual(new Set(['arm64']));
  });
});

describe('renderCli', () => {
  it('shows warm and cold starts of each checkout as rows of their own', () => {
    const run = (checkout: 'this' | 'before', cache: 'warm' | 'cold', firstRequestMs: number) => ({ checkout, cache, firstRequestMs, firstRequestCpuMs: firstRequestMs + 100, totalMs: 2000 });
    const text = renderCli([run('this', 'warm', 500), run('this', 'cold', 800), run('this', 'warm', 600), run('this', 'cold', 900), run('before', 'warm', 550)]);
    expect(text).toContain('| before | warm (caches filled) | 1 | 550 | 550–550 | 650 |');
    expect(text).toContain('| this one | warm (caches filled) | 2 | 550 | 500–600 | 650 |');
    expect(text).toContain('| this one | cold (empty caches) | 2 | 850 | 800–900 | 950 |');
    expect(text).not.toContain('| before | cold');
  });
});
