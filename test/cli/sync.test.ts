// `s3-to-box sync`, run as a user runs it (a child process) against s3rver and the Box emulator.
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBoxEmulator } from '../../local/box-emulator/index.ts';
import type { BoxEmulator } from '../../local/box-emulator/index.ts';
import { ensureBucket, putGeneratedObject, startLocalS3 } from '../../local/runner/index.ts';
import type { LocalS3 } from '../../local/runner/index.ts';
import { SyncProgress, manifestFormatOf, syncInputFor } from '../../local/cli/sync.ts';
import { cli } from './run-cli.ts';

describe('s3-to-box sync (options)', () => {
  it('builds the bulk input from the command line', () => {
    const base = { folder: '7', report: { bucket: 'r', key: 'runs/' }, layout: 'flat', skip: 'same-name', onConflict: 'rename', region: 'us-east-1', boxApiUrl: '', boxUploadUrl: '' } as const;
    expect(syncInputFor({ bucket: 'b', key: 'in/' }, { ...base, objectsInFlight: 4, dryRun: true })).toEqual({
      source: { bucket: 'b', prefix: 'in/' },
      destination: { folderId: '7' },
      layout: 'flat',
      skip: 'same-name',
      onConflict: 'rename',
      report: { bucket: 'r', prefix: 'runs/' },
      options: { objectsInFlight: 4, dryRun: true },
    });
    expect(syncInputFor({ bucket: 'b', key: '' }, { ...base, manifest: { bucket: 'm', key: 'lists/a.csv' } }).source).toEqual({
      bucket: 'b',
      manifest: { bucket: 'm', key: 'lists/a.csv', format: 'csv' },
    });
    expect(manifestFormatOf('x/today.jsonl')).toBe('jsonl');
    expect(manifestFormatOf('inv/2026-12-01T00-00Z/manifest.json')).toBe('inventory');
    expect(() => manifestFormatOf('list.txt')).toThrow(/--manifest-format/);
    expect(manifestFormatOf('list.txt', 'jsonl')).toBe('jsonl');
  });

  it('counts objects, bytes and MiB/s for the live line', () => {
    const p = new SyncProgress();
    expect(p.line()).toMatch(/^0 listing objects/);
    p.on({ type: 'listed', objects: 3, bytes: 3 * 2 ** 20 });
    p.on({ type: 'objects', results: [
      { key: 'a', outcome: 'copied', bytes: 2 ** 20, path: 'a' },
      { key: 'b', outcome: 'skipped', bytes: 2 ** 20, path: 'b' },
      { key: 'c', outcome: 'failed', bytes: 2 ** 20, path: 'c' },
    ] });
    expect(p.line(p.started + 1000)).toBe('3 of 3 objects: 1 copied, 1 skipped, 1 failed; 1.0 MiB of 3.0 MiB, 1.0 MiB/s');
  });
});

describe('s3-to-box sync (a child process against s3rver and the emulator)', () => {
  let s3: LocalS3;
  let box: BoxEmulator;
  beforeAll(async () => {
    s3 = await startLocalS3({ buckets: ['src-bucket'] });
    await ensureBucket(s3.client, 'report-bucket');
    box = await startBoxEmulator();
    for (const [key, size] of [['in/a.txt', 10], ['in/sub dir/b é.bin', 2000], ['in/sub dir/c+d.txt', 0]] as const) {
      await putGeneratedObject(s3.client, { bucket: 'src-bucket', key, size });
    }
    await s3.client.send(new PutObjectCommand({ Bucket: 'src-bucket', Key: 'lists/keys.jsonl', Body: '{"key":"in/a.txt"}\n{"key":"in/missing.txt"}\n' }));
  });
  afterAll(async () => {
    await box?.close();
    await s3?.close();
  });
  const common = (): string[] => [
    '--folder', '0', '--report', 's3://report-bucket/runs/',
    '--s3-endpoint', s3.endpoint, '--box-api-url', box.url, '--box-upload-url', box.uploadUrl, '--box-token', box.token,
  ];
  const env = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER' };

  it('dry run: says what would be copied into which folders, uploads nothing', async () => {
    Object.assign(process.env, env);
    const run = await cli(['sync', 's3://src-bucket/in/', ...common(), '--dry-run']);
    expect(run.stderr).not.toContain('failed:');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('would-copy in/sub dir/b é.bin -> sub dir/b é.bin (new)');
    expect(run.stdout).toContain('Dry run: 3 objects, 3 to copy');
    expect(box.stats().requests.uploadFile + box.stats().requests.createFolder).toBe(0);
  });

  it('copies, then copies nothing the second time (--json), and exits 4 when an object fails', async () => {
    Object.assign(process.env, env);
    const first = await cli(['sync', 's3://src-bucket/in/', ...common(), '--uploads-per-minute', '10000']);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/Done: 3 objects, 3 copied .* 0 skipped, 0 failed; report s3:\/\/report-bucket\/runs\/.*\/report\.jsonl/);
    expect(box.findFile(box.findFolder('0', 'sub dir')!.id, 'b é.bin')?.size).toBe(2000);

    const second = await cli(['sync', 's3://src-bucket/in/', ...common(), '--json']);
    expect(second.code, second.stderr).toBe(0);
    const out = JSON.parse(second.stdout) as { summary: { copied: number; skipped: number }; results: Array<{ outcome: string; reason: string }> };
    expect(out.summary).toMatchObject({ copied: 0, skipped: 3 });
    expect(out.results.map((r) => r.reason)).toEqual(['same-source', 'same-source', 'same-source']);

    const manifest = await cli(['sync', 's3://src-bucket', '--manifest', 's3://src-bucket/lists/keys.jsonl', ...common(), '--json']);
    expect(manifest.code).toBe(4);
    const m = JSON.parse(manifest.stdout) as { summary: { failed: number; copied: number }; results: Array<{ key: string; outcome: string; failure?: { error: { name: string } } }> };
    // A manifest mirrors whole keys (no prefix): in/a.txt lands in a folder "in".
    expect(m.summary).toMatchObject({ failed: 1, copied: 1 });
    expect(box.findFile(box.findFolder('0', 'in')!.id, 'a.txt')?.size).toBe(10);
    expect(m.results.find((r) => r.key === 'in/missing.txt')?.failure?.error.name).toBe('Transfer.SourceNotFound');

    // Past --tolerated-failures (1 of 2 objects is 50 %): the run fails, exit 4, the report written and named.
    const stopped = await cli(['sync', 's3://src-bucket', '--manifest', 's3://src-bucket/lists/keys.jsonl', ...common(), '--tolerated-failures', '10', '--quiet']);
    expect(stopped.code, stopped.stderr).toBe(4);
    expect(stopped.stderr).toContain('Transfer.TooManyFailures');
    expect(stopped.stdout).toMatch(/^Stopped: 2 objects, 0 copied .* 1 skipped, 1 failed; report s3:\/\/report-bucket\/runs\/.*\/report\.jsonl\n$/);
  }, 180_000);

  it('refuses bad options with exit status 2 or a usage error', async () => {
    const bad = await cli(['sync', 's3://src-bucket/in/', '--folder', 'abc', '--report', 's3://report-bucket/', '--s3-endpoint', s3.endpoint, '--box-token', 'x', '--box-api-url', box.url]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain('destination.folderId must be a string of digits');
    // Checked before anything starts: one line naming both locations, no run, no log line of PlanSync.
    const creates = box.stats().requests.createFolder + box.stats().requests.uploadFile;
    const inside = await cli(['sync', 's3://src-bucket/in/', '--folder', '0', '--report', 's3://src-bucket/in/reports/', '--s3-endpoint', s3.endpoint, '--box-token', 'x', '--box-api-url', box.url]);
    expect(inside.code).toBe(2);
    expect(inside.stderr).toBe(
      'Sync failed: Transfer.InvalidInput: Invalid sync input: report s3://src-bucket/in/reports/ lies inside the source s3://src-bucket/in/: its files (results, ' +
        'report.jsonl) would be copied into Box by the next run of this sync; choose a report bucket or prefix outside the source\n',
    );
    expect(box.stats().requests.createFolder + box.stats().requests.uploadFile).toBe(creates);
    const usage = await cli(['sync', 's3://src-bucket/in/', '--folder', '0']);
    expect(usage.code).not.toBe(0);
    expect(usage.stderr).toContain('--report');
  });
});
