// PlanSync at its cap: the shipped planSync bundle, in a process started as Lambda starts the function's
// (local/lambda/runtime.ts: the heap options of its memory in serverless.yml), plans a dry run of a JSONL
// manifest of as many keys as it checks for keys listed twice (manifestMaxKeys), read from s3rver, the
// destination checked in the Box emulator. Its CPU time and peak RSS, and what they mean for the function in
// Lambda: a function gets a share of a vCPU in proportion to its memory (one vCPU at 1,769 MB), so a check
// that is CPU-bound takes at least its CPU seconds divided by that share.
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import { lambdaCommand } from '../local/lambda/runtime.ts';
import { buildShipped, lambdaProcessOf, serverlessConfig } from './bundles.ts';
import { MB_PER_VCPU, mib } from './stats.ts';

export type ManifestFormat = 'jsonl' | 'csv';

export interface ManifestCheckRow {
  format: ManifestFormat;
  keys: number;
  manifestBytes: number;
  memoryMb: number;
  timeoutSeconds: number;
  /** The handler's invocation, wall and CPU (the process's, every thread). */
  seconds: number;
  cpuSeconds: number;
  /** RSS after the import, and the process's peak. */
  idleRssBytes: number;
  peakRssBytes: number;
}

export interface ManifestCheckTarget {
  s3: S3Client;
  bucket: string;
  reportBucket: string;
  /** Environment that points the bundle at s3rver and the emulator. */
  env: Record<string, string>;
}

/** What a row means in Lambda: its vCPU share, the CPU-bound seconds there, and whether memory and timeout hold. */
export function inLambda(row: ManifestCheckRow): { vcpus: number; seconds: number; fitsTimeout: boolean; fitsMemory: boolean } {
  const vcpus = Math.min(1, row.memoryMb / MB_PER_VCPU);
  const seconds = row.cpuSeconds / vcpus;
  return { vcpus, seconds, fitsTimeout: seconds <= row.timeoutSeconds, fitsMemory: row.peakRssBytes <= row.memoryMb * 1024 * 1024 };
}

/** A manifest of `keys` distinct keys of about 40 characters, with their sizes: JSONL lines or CSV rows under a header. */
function manifestOf(keys: number, format: ManifestFormat): Buffer {
  const lines: string[] = format === 'csv' ? ['key,size\n'] : [];
  for (let i = 0; i < keys; i++) {
    const key = `photos/2026/${String(i % 12).padStart(2, '0')}/camera-${i % 97}/IMG_${String(i).padStart(7, '0')}.jpg`;
    lines.push(format === 'csv' ? `${key},${1000 + i}\n` : `{"key":"${key}","size":${1000 + i}}\n`);
  }
  return Buffer.from(lines.join(''));
}

const INVOKE = `
const m = await import(process.argv[1]);
const idle = process.memoryUsage().rss;
const c = process.cpuUsage();
const t = performance.now();
const plan = await m.handler(JSON.parse(process.env.BENCH_EVENT), { awsRequestId: 'bench', getRemainingTimeInMillis: () => 900000 });
const ms = performance.now() - t;
const cpu = process.cpuUsage(c);
const usage = process.resourceUsage();
process.stdout.write(JSON.stringify({ ms, cpuMs: (cpu.user + cpu.system) / 1000, idleRssBytes: idle, peakRssBytes: usage.maxRSS * 1024, reader: plan.reader }));
process.exit(0);`;

export async function measureManifestCheck(target: ManifestCheckTarget, keys: number, format: ManifestFormat): Promise<ManifestCheckRow> {
  const yaml = await serverlessConfig();
  const body = manifestOf(keys, format);
  const manifestKey = `manifests/at-cap-${keys}.${format}`;
  await target.s3.send(new PutObjectCommand({ Bucket: target.bucket, Key: manifestKey, Body: body }));
  const dir = await mkdtemp(path.join(os.tmpdir(), 'plan-sync-bundle-'));
  try {
    const bundle = await buildShipped('planSync', dir);
    const lambda = await lambdaProcessOf('planSync');
    const event = {
      input: {
        source: { bucket: target.bucket, manifest: { bucket: target.bucket, key: manifestKey, format } },
        destination: { folderId: '0' },
        report: { bucket: target.reportBucket, prefix: 'at-cap/' },
        options: { dryRun: true },
      },
      executionName: 'at-cap',
      executionId: 'arn:aws:states:us-east-1:123456789012:execution:s3-to-box-dev-sync:at-cap',
    };
    const command = lambdaCommand(lambda, process.execPath, ['--input-type=module', '-e', INVOKE, bundle]);
    const out = await new Promise<string>((resolve, reject) => {
      const child = spawn(command.file, command.args, {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { PATH: process.env.PATH ?? '', AWS_REGION: 'us-east-1', LOG_LEVEL: 'error', AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(lambda.memoryMb), ...target.env, BENCH_EVENT: JSON.stringify(event) },
      });
      let stdout = '';
      let stderr = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
      child.on('close', (code) => (code === 0 ? resolve(stdout) : reject(new Error(`the planSync bundle exited with ${code}: ${stderr.slice(-1500)}`))));
    });
    const r = JSON.parse(out.trim().split('\n').pop() ?? '{}') as { ms: number; cpuMs: number; idleRssBytes: number; peakRssBytes: number; reader: string };
    if (r.reader !== format) throw new Error(`PlanSync planned ${r.reader}, not the ${format} manifest`);
    return {
      format,
      keys,
      manifestBytes: body.length,
      memoryMb: lambda.memoryMb,
      timeoutSeconds: yaml.functions.planSync?.timeout ?? yaml.provider.timeout ?? 6,
      seconds: r.ms / 1000,
      cpuSeconds: r.cpuMs / 1000,
      idleRssBytes: r.idleRssBytes,
      peakRssBytes: r.peakRssBytes,
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The subsection of the bulk section: the rows, and what they mean at PlanSync's memory and timeout. */
export function renderManifestCheck(rows: ManifestCheckRow[]): string {
  const first = rows[0];
  if (first === undefined) return '';
  return [
    `### PlanSync at its cap: a manifest of ${first.keys.toLocaleString('en-US')} keys checked for keys listed twice`,
    '',
    `The shipped planSync bundle in a process started as Lambda starts the function (the heap options of its ${first.memoryMb} MB), planning a dry run of a manifest of that many distinct keys read from s3rver. ` +
      `In Lambda a function has memory / ${MB_PER_VCPU} of a vCPU (${first.memoryMb} MB: ${inLambda(first).vcpus.toFixed(2)}), so a CPU-bound check takes at least its CPU seconds divided by that share; it fits when that is within the timeout and the peak RSS within the memory.`,
    '',
    '| format | keys | manifest | invocation s (here) | CPU-s | RSS after import | peak RSS | memory (serverless.yml) | CPU-bound s in Lambda | timeout (serverless.yml) | fits |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
    ...rows.map((row) => {
      const l = inLambda(row);
      const misses = [l.fitsMemory ? '' : 'memory', l.fitsTimeout ? '' : 'timeout'].filter(Boolean).join(', ');
      return `| ${row.format} | ${row.keys.toLocaleString('en-US')} | ${mib(row.manifestBytes)} | ${row.seconds.toFixed(1)} | ${row.cpuSeconds.toFixed(2)} | ${mib(row.idleRssBytes)} | ${mib(row.peakRssBytes)} | ${row.memoryMb} MB | ${l.seconds.toFixed(0)} | ${row.timeoutSeconds} s | ${misses === '' ? 'yes' : `**no** (${misses})`} |`;
    }),
  ].join('\n');
}
