import { describe, expect, it } from 'vitest';
import { parseOnConflict, parsePositiveInt, parseS3Url, parseSize } from '../../local/cli/options.ts';
import { ProgressTotals, formatBytes } from '../../local/cli/progress.ts';
import type { ProgressUpdate } from '../../local/cli/progress.ts';
import { ProgressFeed, topLevelStates } from '../../local/cli/run.ts';
import { commandInput, lambdaEnvFor, transferInputFor } from '../../local/cli/transfer.ts';
import { UsageError } from '../../local/cli/exit-status.ts';
import { resumeHint } from '../../local/cli/failure.ts';
import { rejection } from '../support/rejection.ts';
import type { OnConflict } from '../../src/transfer/contract.ts';

describe('option parsers', () => {
  it('parses sizes in bytes, decimal and binary units', () => {
    expect(parseSize('20000000')).toBe(20_000_000);
    expect(parseSize('20MB')).toBe(20_000_000);
    expect(parseSize('256MiB')).toBe(256 * 2 ** 20);
    expect(parseSize('1.5GiB')).toBe(1.5 * 2 ** 30);
    expect(parseSize('0')).toBe(0);
    expect(() => parseSize('big')).toThrow(/not a size/);
    expect(() => parseSize('12 parsecs')).toThrow(/not a size/);
  });

  it('parses S3 URLs, keeping spaces and Unicode in keys', () => {
    expect(parseS3Url('s3://bucket/a b/Ünïcode ✓.bin')).toEqual({ bucket: 'bucket', key: 'a b/Ünïcode ✓.bin' });
    expect(() => parseS3Url('s3://bucket')).toThrow(/not an S3 URL/);
    expect(() => parseS3Url('https://bucket/key')).toThrow(/not an S3 URL/);
  });

  it('parses counts and conflict policies', () => {
    expect(parsePositiveInt('8')).toBe(8);
    expect(() => parsePositiveInt('0')).toThrow(/positive whole number/);
    expect(() => parsePositiveInt('2.5')).toThrow(/positive whole number/);
    expect(parseOnConflict('rename')).toBe('rename');
    expect(() => parseOnConflict('overwrite')).toThrow(/version, rename, fail/);
  });
});

describe('transfer command wiring', () => {
  const opts = {
    folder: '123',
    onConflict: 'fail' as const,
    concurrency: 6,
    region: 'eu-west-1',
    boxApiUrl: 'http://127.0.0.1:1',
    boxUploadUrl: 'http://127.0.0.1:1/api',
  };

  it('builds the state machine input from the arguments', () => {
    expect(transferInputFor({ bucket: 'b', key: 'k/x.bin' }, { ...opts, name: 'y.bin', versionId: 'v1', partsPerBatch: 4 })).toEqual({
      source: { bucket: 'b', key: 'k/x.bin', versionId: 'v1' },
      destination: { folderId: '123', fileName: 'y.bin' },
      onConflict: 'fail',
      options: { concurrency: 6, partsPerBatch: 4 },
    });
  });

  it('gives the Lambdas the environment AWS would, from the options', () => {
    const env = lambdaEnvFor({ ...opts, s3Endpoint: 'http://127.0.0.1:2', boxToken: 't' }, {});
    expect(env).toEqual({
      AWS_REGION: 'eu-west-1',
      BOX_API_URL: 'http://127.0.0.1:1',
      BOX_UPLOAD_URL: 'http://127.0.0.1:1/api',
      BOX_DEVELOPER_TOKEN: 't',
      S3_ENDPOINT: 'http://127.0.0.1:2',
      S3_FORCE_PATH_STYLE: 'true',
    });
    expect(lambdaEnvFor(opts, { BOX_DEVELOPER_TOKEN: 'from-env' }).BOX_DEVELOPER_TOKEN).toBe('from-env');
    // --box-token wins over credentials in the environment (which would otherwise come first).
    const overridden = lambdaEnvFor({ ...opts, boxToken: 'cli' }, { BOX_SECRET_ARN: 'arn:secret', BOX_CLIENT_ID: 'id', BOX_CLIENT_SECRET: 's' });
    expect(overridden).toMatchObject({ BOX_DEVELOPER_TOKEN: 'cli' });
    expect(overridden).not.toHaveProperty('BOX_SECRET_ARN');
    expect(overridden).not.toHaveProperty('BOX_CLIENT_ID');
  });
});

describe('the printed resume command', () => {
  const base = {
    folder: '123',
    onConflict: 'version' as OnConflict,
    concurrency: 8,
    region: 'us-east-1',
    boxApiUrl: 'https://api.box.com',
    boxUploadUrl: 'https://upload.box.com/api',
  };
  const source = { bucket: 'exports', key: 'dir/big.bin' };
  const SESSION = 'F971964745A5CD0C001BBE4E58196BFD';
  async function printed(opts: Partial<typeof base> & Record<string, unknown>, resume: Record<string, string>): Promise<string> {
    const { input, resumeArgs } = await commandInput(source, { ...base, ...opts } as never);
    const failure = { error: { name: 'Box.ServerError', message: 'm' }, resumable: true, resumeInput: { ...input, resume: { sessionId: SESSION, ...resume } } };
    const line = resumeHint(failure, resumeArgs?.(failure.resumeInput.resume)).split('\n').find((l) => l.startsWith('  resume:'));
    return line!.slice('  resume:  '.length);
  }

  it('carries the name a rename settled, the pinned ETag (without quotes) and the version, with --resume last', async () => {
    const after = await printed({ onConflict: 'rename', given: ['folder', 'onConflict'] }, { etag: '"9b2c"', fileName: 'big (1).bin', versionId: 'v-7' });
    expect(after).toBe(`s3-to-box transfer s3://exports/dir/big.bin --folder 123 --name 'big (1).bin' --version-id v-7 --on-conflict rename --resume-etag 9b2c --resume ${SESSION}`);
  });

  it('carries the file id of a session that makes a new version, and no --name when the key gives the name', async () => {
    expect(await printed({ given: ['folder'] }, { etag: 'e-3', fileName: 'big.bin', fileId: '4711' })).toBe(
      `s3-to-box transfer s3://exports/dir/big.bin --folder 123 --file-id 4711 --resume-etag e-3 --resume ${SESSION}`,
    );
    // A typed name is kept even when it equals the key's.
    expect(await printed({ name: 'big.bin', given: ['folder', 'name'] }, { fileName: 'big.bin' })).toBe(
      `s3-to-box transfer s3://exports/dir/big.bin --folder 123 --name big.bin --resume ${SESSION}`,
    );
  });

  it('turns --resume and --resume-etag into the input\'s resume, and refuses --resume-etag alone', async () => {
    const { input } = await commandInput(source, { ...base, resume: SESSION, resumeEtag: '9b2c', given: ['folder', 'resume', 'resumeEtag'] });
    expect(input.resume).toEqual({ sessionId: SESSION, etag: '9b2c' });
    const error = await rejection(commandInput(source, { ...base, resumeEtag: '9b2c', given: ['folder', 'resumeEtag'] }));
    expect(error).toBeInstanceOf(UsageError);
    expect(error.message).toContain('give it with --resume');
  });
});

describe('progress', () => {
  it('adds up parts (once per offset), hashing and commit waits from the runner and the handlers', () => {
    const totals = new ProgressTotals(0);
    const feed = new ProgressFeed(topLevelStates());
    const MiB = 2 ** 20;
    const apply = (u: ProgressUpdate[] | ProgressUpdate | undefined) => {
      for (const one of [u ?? []].flat()) totals.apply(one);
    };
    apply(feed.fromRunner({ type: 'prepared', mode: 'chunked', size: 3 * MiB, totalParts: 3, partSize: MiB, batches: 2, partsPerBatch: 2, concurrency: 4 }));
    apply(feed.fromRunner({ type: 'state-entered', state: 'UploadAndHash', stateType: 'Parallel' }));
    apply(feed.fromHandlers({ type: 'part-uploaded', offset: 0, size: MiB, alreadyUploaded: false }));
    apply(feed.fromHandlers({ type: 'part-uploaded', offset: MiB, size: MiB, alreadyUploaded: false }));
    // A retried batch reports its parts again: they are not counted twice.
    apply(feed.fromHandlers({ type: 'part-uploaded', offset: 0, size: MiB, alreadyUploaded: true }));
    apply(feed.fromHandlers({ type: 'hashed', offset: MiB, size: 3 * MiB }));
    apply(feed.fromRunner({ type: 'state-entered', state: 'HashObject', stateType: 'Task' }));
    apply(feed.fromHandlers({ type: 'part-uploaded', offset: 2 * MiB, size: MiB, alreadyUploaded: false }));
    apply(feed.fromRunner({ type: 'commit-wait', seconds: 3, waitMs: 3000, attempts: 1, waitedSeconds: 3, reason: 'box-processing' }));
    expect(totals.totalParts).toBe(3);
    expect(totals.partsDone).toBe(3);
    expect(totals.bytesDone).toBe(3 * MiB);
    expect(totals.hashed).toBe(MiB);
    expect(totals.commitWaitedSeconds).toBe(3);
    // States inside the Parallel's branches do not take over the state line.
    expect(totals.state).toBe('UploadAndHash');
    expect(totals.line(1000)).toContain('parts 3/3 (3.0 MiB/3.0 MiB, 3.0 MiB/s)');
    expect(formatBytes(512)).toBe('512 B');
  });

  it('counts the parts a resumed session already holds as done, once', () => {
    const totals = new ProgressTotals(0);
    const feed = new ProgressFeed(topLevelStates());
    const MiB = 2 ** 20;
    // Parts 0 and 2 of 4 are stored (bitmap 0b0101); the last part is half a MiB.
    for (const u of feed.fromRunner({ type: 'prepared', mode: 'chunked', size: 3.5 * MiB, totalParts: 4, partSize: MiB, batches: 1, partsPerBatch: 2, concurrency: 2, storedParts: Buffer.from([0b0101]).toString('base64') })) {
      totals.apply(u);
    }
    expect([totals.partsDone, totals.bytesDone]).toEqual([2, 2 * MiB]);
    // UploadBatch reports the stored part 2 again (it shares a batch with part 3): not counted twice.
    for (const offset of [2 * MiB, 3 * MiB]) {
      const u = feed.fromHandlers({ type: 'part-uploaded', offset, size: offset === 3 * MiB ? MiB / 2 : MiB, alreadyUploaded: offset === 2 * MiB });
      if (u) totals.apply(u);
    }
    expect([totals.partsDone, totals.bytesDone]).toEqual([3, 2.5 * MiB]);
    expect(formatBytes(1.5 * 2 ** 30)).toBe('1.50 GiB');
  });
});
