// Summarize's memory does not grow with the run: a result set several times larger than the V8 heap it is
// given (--max-old-space-size) is read from real result files on s3rver and written back as report.jsonl.
// A Summarize that held the result files, or every object's result, could not finish inside that heap
// (V8 aborts the process: the implementation before this one did, with "Reached heap limit"), so the check
// cannot pass by luck. Real loopback S3 (s3rver), a child process.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startLocalS3 } from '../../local/runner/index.ts';
import type { LocalS3 } from '../../local/runner/index.ts';
import type { ObjectResult } from '../../src/bulk/contract.ts';
import type { SummarizeEvent } from '../../src/bulk/report.ts';

const CHILD = fileURLToPath(new URL('./support/summarize-child.ts', import.meta.url));
const HEAP_LIMIT_MIB = 40;
const FILES = 4;
const CHILDREN_PER_FILE = 350;
const RESULTS_PER_CHILD = 250; // 350,000 objects

let s3: LocalS3;
beforeAll(async () => {
  s3 = await startLocalS3({ buckets: ['reports'] });
});
afterAll(async () => {
  await s3?.close();
});

function resultOf(n: number): ObjectResult {
  return {
    key: `exports/2026/folder ${n % 97}/object number ${String(n).padStart(9, '0')} with a longer name.csv`,
    outcome: n % 5 === 0 ? 'skipped' : 'copied',
    bytes: n,
    path: `2026/folder ${n % 97}/object number ${String(n).padStart(9, '0')} with a longer name.csv`,
    fileId: String(1_000_000 + n),
    sha1: n.toString(16).padStart(40, 'a'),
  };
}

function run(args: string[]): Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

describe('Summarize reads the ResultWriter output as a stream', () => {
  it(`summarizes ${FILES * CHILDREN_PER_FILE * RESULTS_PER_CHILD} objects (several times its ${HEAP_LIMIT_MIB} MiB heap) and writes the whole report`, async () => {
    const prefix = 'runs/big-run';
    let n = 0;
    let resultBytes = 0;
    let reportBytes = 0;
    let copied = 0;
    const files: Array<{ Key: string; Size: number }> = [];
    for (let f = 0; f < FILES; f++) {
      const children: string[] = [];
      for (let c = 0; c < CHILDREN_PER_FILE; c++) {
        const results: ObjectResult[] = [];
        for (let r = 0; r < RESULTS_PER_CHILD; r++) {
          const result = resultOf(n++);
          if (result.outcome === 'copied') copied++;
          reportBytes += Buffer.byteLength(JSON.stringify(result)) + 1;
          results.push(result);
        }
        children.push(JSON.stringify({ ExecutionArn: `arn:child:${f}:${c}`, Input: '{"Items":[]}', Output: JSON.stringify({ results }), Status: 'SUCCEEDED' }));
      }
      const body = `[${children.join(',')}]`;
      const Key = `${prefix}/map-run/SUCCEEDED_${f}.json`;
      await s3.client.send(new PutObjectCommand({ Bucket: 'reports', Key, Body: body }));
      files.push({ Key, Size: Buffer.byteLength(body) });
      resultBytes += Buffer.byteLength(body);
    }
    await s3.client.send(new PutObjectCommand({ Bucket: 'reports', Key: `${prefix}/map-run/manifest.json`, Body: JSON.stringify({ ResultFiles: { SUCCEEDED: files } }) }));
    // The data is far larger than the heap the child gets.
    expect(resultBytes).toBeGreaterThan(2 * HEAP_LIMIT_MIB * 1024 * 1024);

    const event: SummarizeEvent = {
      plan: { results: { bucket: 'reports', prefix }, batchInput: { dryRun: false } as SummarizeEvent['plan']['batchInput'] },
      mapRun: { ResultWriterDetails: { Bucket: 'reports', Key: `${prefix}/map-run/manifest.json` } },
    };
    const child = await run([`--max-old-space-size=${HEAP_LIMIT_MIB}`, CHILD, s3.endpoint, JSON.stringify(event)]);
    expect({ code: child.code, signal: child.signal, stderr: child.stderr }).toEqual({ code: 0, signal: null, stderr: '' });
    const out = JSON.parse(child.stdout) as { summary: { objects: number; copied: number; skipped: number } };
    expect(out.summary).toMatchObject({ objects: n, copied, skipped: n - copied, report: { bucket: 'reports', key: `${prefix}/report.jsonl` } });
    // Every line made it into the report (a multipart upload of several parts).
    const head = await s3.client.send(new HeadObjectCommand({ Bucket: 'reports', Key: `${prefix}/report.jsonl` }));
    expect(head.ContentLength).toBe(reportBytes);
  }, 300_000);
});
