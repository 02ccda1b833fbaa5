// SLOW TEST (tens of seconds on 2 cores): 2,000+ small objects and a few chunked ones, in nested "folders"
// whose names hold spaces, unicode and '+', a 0-byte object and a folder marker, through the real bulk
// state machine (local runner: Distributed Map emulated, nested transfer executions) into the emulator.
// Every object must land byte-exact (Box's SHA-1 of what it stored = the SHA-1 of the bytes put) at its
// mirrored path, the report must list every key once, and a second run must upload nothing and read no
// object bytes. Every execution's history must stay far inside Standard's 25,000 events.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { putGeneratedObject } from '../../local/runner/index.ts';
import type { SyncInput } from '../../src/bulk/contract.ts';
import { BUCKET, REPORT_BUCKET, startBulkEnv, boxFileAt as boxFileIn } from './harness.ts';
import type { BulkEnv } from './harness.ts';
import type { SyncExecution } from '../../local/runner/bulk.ts';

const MiB = 1024 * 1024;
const SMALL = 2_000;
const FOLDERS = ['', 'reports/', 'reports/2026 Q1/', 'média/été +plus/', 'deep/a/b/c/d/'];
const CHUNKED = [
  { key: 'big/large one.bin', size: 3 * MiB + 17 },
  { key: 'média/été +plus/vidéo.mov', size: 2 * MiB },
  { key: 'deep/a/b/c/d/archive+1.tar', size: 5 * MiB + 1 },
];
const PREFIX = 'import/';

let env: BulkEnv;
/** Every run the test started: teardown ends them before it closes the servers. */
const runs: SyncExecution[] = [];
const expected = new Map<string, { size: number; sha1: string }>();

function smallKey(i: number): string {
  return `${PREFIX}${FOLDERS[i % FOLDERS.length]}file ${String(i).padStart(4, '0')}${i % 7 === 0 ? ' ünï+cödé' : ''}.txt`;
}

beforeAll(async () => {
  env = await startBulkEnv({
    emulator: { minChunkedFileSize: MiB, partSize: MiB },
    settings: { directUploadMax: MiB },
  });
  const put = async (key: string, size: number): Promise<void> => {
    const object = await putGeneratedObject(env.s3.client, { bucket: BUCKET, key, size });
    expected.set(key, { size, sha1: object.sha1 });
  };
  const jobs: Array<() => Promise<void>> = [];
  for (let i = 0; i < SMALL; i++) jobs.push(() => put(smallKey(i), i === 0 ? 0 : 1 + ((i * 7919) % 3000)));
  for (const c of CHUNKED) jobs.push(() => put(`${PREFIX}${c.key}`, c.size));
  // A folder marker (as the S3 console makes for an empty folder), and an object outside the prefix.
  jobs.push(() => putGeneratedObject(env.s3.client, { bucket: BUCKET, key: `${PREFIX}empty folder/`, size: 0 }).then(() => undefined));
  jobs.push(() => putGeneratedObject(env.s3.client, { bucket: BUCKET, key: 'elsewhere/not-this.txt', size: 3 }).then(() => undefined));
  let next = 0;
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next < jobs.length) await jobs[next++]!();
  }));
}, 300_000);

afterAll(async () => {
  // A run an assertion left going is stopped, and every run's last invocations return, before the servers
  // close: a client closing waits for requests in flight, and a run still going would retry against servers
  // closing under it. (Closing is then the two servers and their temp folders, thousands of files each.)
  for (const run of runs) run.abort();
  await Promise.all(runs.map((run) => run.idle));
  await env?.close();
});

const sync = (i: SyncInput): SyncExecution => {
  const run = env.sync(i);
  runs.push(run);
  return run;
};
const boxFileAt = (path: string) => boxFileIn(env.box, path);

const input = (): SyncInput => ({
  source: { bucket: BUCKET, prefix: PREFIX },
  destination: { folderId: '0' },
  report: { bucket: REPORT_BUCKET, prefix: 'runs/' },
  // The budget raised: the default (240 uploads a minute, Box's documented limit) would take 9 minutes.
  options: { objectsInFlight: 32, uploadsPerMinute: 100_000, objectsPerBatch: 100 },
});

describe('s3-to-box sync through the bulk state machine (2,000+ objects)', () => {
  it('copies every object byte-exact to its mirrored path, reports each key once, then a second run copies nothing and reads no object bytes', async () => {
    const total = SMALL + CHUNKED.length + 1; // + the folder marker
    const first = sync(input());
    const summary = await first.result;
    expect(summary).toMatchObject({ objects: total, copied: SMALL + CHUNKED.length, skipped: 1, failed: 0, dryRun: false });
    expect(summary.bytesCopied).toBe([...expected.values()].reduce((n, e) => n + e.size, 0));

    for (const [key, want] of expected) {
      const got = boxFileAt(key.slice(PREFIX.length));
      expect(got, key).toBeDefined();
      expect({ key, sha1: got?.sha1, size: got?.size }).toEqual({ key, sha1: want.sha1, size: want.size });
    }
    expect(env.box.findFolder('0', 'empty folder')).toBeDefined();
    expect(boxFileAt('not-this.txt')).toBeUndefined();
    // The chunked ones went through nested transfer executions (upload sessions), the others direct.
    const stats = env.box.stats().requests;
    expect(stats.createSession).toBe(CHUNKED.length);
    expect(stats.uploadFile).toBe(SMALL);

    const report = await env.readReport(summary.report.bucket, summary.report.key);
    expect(report).toHaveLength(total);
    expect(new Set(report.map((r) => r.key)).size).toBe(total);
    for (const line of report) {
      if (line.key.endsWith('/')) {
        expect(line).toMatchObject({ outcome: 'skipped', reason: 'folder-marker', path: 'empty folder' });
        continue;
      }
      const want = expected.get(line.key);
      expect(line, line.key).toMatchObject({ outcome: 'copied', bytes: want?.size, sha1: want?.sha1, path: line.key.slice(PREFIX.length) });
      expect(line.fileId).toMatch(/^\d+$/);
    }

    const history = await first.history;
    expect(history.children.length).toBe(Math.ceil(total / 100));
    expect(history.transfers.length).toBe(CHUNKED.length);
    expect(history.maxEvents).toBeLessThan(25_000);
    expect(history.maxPayloadBytes).toBeLessThan(256 * 1024);
    expect(history.parent.awsEventCount).toBeLessThan(50);

    // Second run over the unchanged prefix: everything skipped from the folder listings alone. (The first
    // run's reads were counted, the lean GETs of small objects too: the count below can see a read.)
    const readsBefore = env.sourceReads();
    expect(readsBefore).toBeGreaterThanOrEqual(SMALL + CHUNKED.length);
    const headsBefore = env.s3Calls['HeadObjectCommand'] ?? 0;
    env.box.resetStats();
    const again = await sync(input()).result;
    expect(again).toMatchObject({ objects: total, copied: 0, skipped: total, failed: 0, bytesCopied: 0 });
    expect(env.sourceReads() - readsBefore).toBe(0);
    expect((env.s3Calls['HeadObjectCommand'] ?? 0) - headsBefore).toBe(0);
    const after = env.box.stats().requests;
    expect(after.uploadFile + after.uploadFileVersion + after.createSession + after.createVersionSession + after.uploadPart).toBe(0);
    const secondReport = await env.readReport(again.report.bucket, again.report.key);
    expect(secondReport.filter((r) => r.reason === 'same-source')).toHaveLength(SMALL + CHUNKED.length);
  }, 600_000);
});
