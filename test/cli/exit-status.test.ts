// Bad input exits 2 in every command (README "The command line": exit status), run as a user runs it: a child process
// under this Node, against s3rver and the Box emulator started here. Every input error name of the
// transfer and the bulk run (local/cli/exit-status.ts INPUT_ERROR_NAMES) reaches the user as exit 2 with
// its name on stderr (or in the --json failure document), and nothing is created in Box.
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitStatusForError, INPUT_ERROR_NAMES } from '../../local/cli/exit-status.ts';
import { startBoxEmulator } from '../../local/box-emulator/index.ts';
import type { BoxEmulator } from '../../local/box-emulator/index.ts';
import { ensureBucket, putGeneratedObject, startLocalS3 } from '../../local/runner/index.ts';
import type { LocalS3 } from '../../local/runner/index.ts';
import { cli, inTurn } from './run-cli.ts';

// Each case starts a CLI process (a second or more of CPU on a busy machine); the cases run three at a time.
const TIMEOUT_MS = 240_000;
const NO_BOX_CREDENTIALS = { BOX_DEVELOPER_TOKEN: '', BOX_CLIENT_ID: '', BOX_CLIENT_SECRET: '', BOX_SECRET_ARN: '' };

describe('every input error name is exit 2', () => {
  it('in the mapping every command uses: input errors 2, anything else 1', () => {
    for (const name of ['Transfer.InvalidInput', 'Transfer.SourceNotFound', 'Transfer.SourceNotAllowed', 'Transfer.SourceTooLarge', 'Transfer.DestinationNotFound', 'Transfer.DestinationNotAllowed', 'Transfer.ConfigurationError']) {
      expect(INPUT_ERROR_NAMES.has(name)).toBe(true);
      expect(exitStatusForError(name)).toBe(2);
    }
    for (const name of ['Box.ServerError', 'Box.Forbidden', 'Box.NotFound', 'Transfer.NameConflict', 'Transfer.SourceChanged', 'Transfer.NotFound', 'Error']) {
      expect(exitStatusForError(name)).toBe(1);
    }
  });
});

describe('s3-to-box commands exit 2 on bad input (child processes)', { timeout: TIMEOUT_MS }, () => {
  let s3: LocalS3;
  let box: BoxEmulator;
  let env: Record<string, string>;
  let boxArgs: string[];
  let folder: { id: string };
  let otherFolder: { id: string };

  beforeAll(async () => {
    s3 = await startLocalS3({ buckets: ['in-bucket'] });
    await ensureBucket(s3.client, 'report-bucket');
    box = await startBoxEmulator();
    folder = await box.createFolder('allowed');
    otherFolder = await box.createFolder('other');
    await putGeneratedObject(s3.client, { bucket: 'in-bucket', key: 'dir/file.bin', size: 1000 });
    env = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', ...NO_BOX_CREDENTIALS, BOX_DEVELOPER_TOKEN: box.token };
    boxArgs = ['--s3-endpoint', s3.endpoint, '--box-api-url', box.url, '--box-upload-url', box.uploadUrl];
  }, 60_000);
  afterAll(async () => {
    await box?.close();
    await s3?.close();
  });

  it('transfer: each refusal of the input, with its name, as text and as the --json failure document; nothing reaches Box', async () => {
    const source = 's3://in-bucket/dir/file.bin';
    const cases: Array<{ name: string; args: string[]; env?: Record<string, string>; stdin?: string; message: string }> = [
      { name: 'Transfer.InvalidInput', args: [source, '--folder', 'abc'], message: 'destination.folderId must be a string of digits' },
      { name: 'Transfer.InvalidInput', args: [source, '--folder', folder.id, '--name', 'report.bin\t'], message: 'destination.fileName' },
      {
        name: 'Transfer.InvalidInput',
        args: ['--resume-input', '-'],
        stdin: JSON.stringify({ source: { bucket: 'in-bucket', key: 'dir/file.bin' }, destination: { folderId: folder.id, folderPath: `kept/${'x'.repeat(256)}` } }),
        message: 'destination.folderPath segment 2',
      },
      { name: 'Transfer.SourceNotFound', args: ['s3://in-bucket/no/such.bin', '--folder', folder.id], message: 's3://in-bucket/no/such.bin' },
      { name: 'Transfer.SourceNotAllowed', args: [source, '--folder', folder.id], env: { TRANSFER_SOURCES: 'in-bucket/other/' }, message: 'is not an allowed source' },
      { name: 'Transfer.SourceTooLarge', args: [source, '--folder', folder.id], env: { TRANSFER_MAX_FILE_SIZE: '999' }, message: 'maxFileSize' },
      { name: 'Transfer.DestinationNotFound', args: [source, '--folder', '987654321'], message: 'Box folder 987654321' },
      { name: 'Transfer.DestinationNotAllowed', args: [source, '--folder', otherFolder.id], env: { TRANSFER_DESTINATION_FOLDERS: folder.id }, message: 'not in an allowed destination folder' },
      { name: 'Transfer.ConfigurationError', args: [source, '--folder', folder.id], env: NO_BOX_CREDENTIALS, message: 'No Box credentials' },
      {
        name: 'Transfer.ConfigurationError',
        args: [source, '--folder', folder.id],
        env: { TRANSFER_MAX_FILE_SIZE: '5GB' },
        message: 'TRANSFER_MAX_FILE_SIZE (the maxFileSize parameter) must be a whole number of bytes above 0, in digits only, such as 536870912000 (the default when it is not set); got "5GB"',
      },
    ];
    box.resetStats();
    const runs = await inTurn(
      cases.flatMap((c) => [
        () => cli(['transfer', ...c.args, '--quiet', ...boxArgs], { ...env, ...c.env }, c.stdin),
        () => cli(['transfer', ...c.args, '--json', ...boxArgs], { ...env, ...c.env }, c.stdin),
      ]),
    );
    cases.forEach((c, i) => {
      const [text, json] = [runs[2 * i]!, runs[2 * i + 1]!];
      expect({ case: c.args.join(' '), code: text.code }).toEqual({ case: c.args.join(' '), code: 2 });
      expect(text.stderr).toContain(`Transfer failed: ${c.name}: `);
      expect(text.stderr).toContain(c.message);
      expect({ case: c.args.join(' '), code: json.code }).toEqual({ case: c.args.join(' '), code: 2 });
      expect(JSON.parse(json.stdout)).toEqual({ error: { name: c.name, message: expect.stringContaining(c.message) as unknown }, resumable: false });
    });
    const requests = box.stats().requests;
    expect({ createFolder: requests.createFolder, createSession: requests.createSession, uploadFile: requests.uploadFile }).toEqual({
      createFolder: 0,
      createSession: 0,
      uploadFile: 0,
    });
    expect(box.findFolder(folder.id, 'kept')).toBeUndefined();
  });

  it('sync, status, abort and replay-failed-events: bad input and missing configuration exit 2', async () => {
    const report = ['--report', 's3://report-bucket/runs/'];
    const [notAllowed, notFound, badFolder, badTunable, statusName, statusArn, abortNoCredentials, replayNoRoutes, replayBadRoutes] = await inTurn([
      () => cli(['sync', 's3://in-bucket/dir/', '--folder', folder.id, ...report, ...boxArgs], { ...env, TRANSFER_SOURCES: 'in-bucket/other/' }),
      () => cli(['sync', 's3://in-bucket/dir/', '--folder', '987654321', ...report, ...boxArgs], env),
      () => cli(['sync', 's3://in-bucket/dir/', '--folder', folder.id, ...report, ...boxArgs], { ...env, TRANSFER_DESTINATION_FOLDERS: otherFolder.id }),
      () => cli(['sync', 's3://in-bucket/dir/', '--folder', folder.id, ...report, ...boxArgs], { ...env, TRANSFER_PARTS_IN_FLIGHT: '8MiB' }),
      () => cli(['status', 'not a name!', '--state-machine-arn', 'arn:aws:states:us-east-1:123456789012:stateMachine:s3-to-box-test', '--sfn-endpoint', 'http://127.0.0.1:9'], env),
      () => cli(['status', 'arn:aws:states:us-east-1:123456789012:execution:m', '--sfn-endpoint', 'http://127.0.0.1:9'], env),
      () => cli(['abort', 'ABC123', '--box-api-url', box.url, '--box-upload-url', box.uploadUrl], { ...env, ...NO_BOX_CREDENTIALS }),
      () => cli(['replay-failed-events', '--queue-url', 'http://127.0.0.1:9/q', '--state-machine-arn', 'arn:aws:states:us-east-1:123456789012:stateMachine:m', '--sqs-endpoint', 'http://127.0.0.1:9', '--sfn-endpoint', 'http://127.0.0.1:9'], { ...env, TRANSFER_ROUTES: '' }),
      () => cli(['replay-failed-events', '--queue-url', 'http://127.0.0.1:9/q', '--state-machine-arn', 'arn:aws:states:us-east-1:123456789012:stateMachine:m', '--routes', '{not json', '--sqs-endpoint', 'http://127.0.0.1:9', '--sfn-endpoint', 'http://127.0.0.1:9'], env),
    ]);
    expect(notAllowed).toMatchObject({ code: 2, stderr: expect.stringContaining('Sync failed: Transfer.SourceNotAllowed') as unknown });
    expect(notFound).toMatchObject({ code: 2, stderr: expect.stringContaining('Sync failed: Transfer.DestinationNotFound') as unknown });
    expect(badFolder).toMatchObject({ code: 2, stderr: expect.stringContaining('Sync failed: Transfer.DestinationNotAllowed') as unknown });
    expect(badTunable).toMatchObject({ code: 2, stderr: expect.stringContaining('Sync failed: Transfer.ConfigurationError: TRANSFER_PARTS_IN_FLIGHT must be a whole number above 0, in digits only, such as 4 (the default when it is not set); got "8MiB"') as unknown });
    expect(statusName).toMatchObject({ code: 2, stderr: expect.stringContaining('Transfer.InvalidInput') as unknown });
    expect(statusArn).toMatchObject({ code: 2, stderr: expect.stringContaining('is not an execution ARN') as unknown });
    expect(abortNoCredentials).toMatchObject({ code: 2, stderr: expect.stringContaining('Transfer.ConfigurationError: No Box credentials') as unknown });
    expect(replayNoRoutes).toMatchObject({ code: 2, stderr: expect.stringContaining('--routes (or TRANSFER_ROUTES) is required') as unknown });
    expect(replayBadRoutes?.code).toBe(2);
    expect(replayBadRoutes?.stderr).toMatch(/^Transfer\.\w+: .*routes/im);
    expect(box.findFolder(folder.id, 'dir')).toBeUndefined();
  });

  it('a refusal found by reading S3 or Box is said once, as its final line: the Lambda\'s log line of it only with --verbose', async () => {
    const report = ['--report', 's3://report-bucket/runs/'];
    await s3.client.send(new PutObjectCommand({ Bucket: 'report-bucket', Key: 'lists/twice.jsonl', Body: '{"key":"dir/file.bin"}\n{"key":"dir/file.bin"}\n' }));
    const cases: Array<{ args: string[]; env?: Record<string, string>; line: RegExp; task: string }> = [
      { args: ['transfer', 's3://in-bucket/no/such.bin', '--folder', folder.id], line: /^Transfer failed: Transfer\.SourceNotFound: .*s3:\/\/in-bucket\/no\/such\.bin/, task: 'Prepare' },
      { args: ['transfer', 's3://in-bucket/dir/file.bin', '--folder', '987654321'], line: /^Transfer failed: Transfer\.DestinationNotFound: .*Box folder 987654321/, task: 'Prepare' },
      { args: ['transfer', 's3://in-bucket/dir/file.bin', '--folder', otherFolder.id], env: { TRANSFER_DESTINATION_FOLDERS: folder.id }, line: /^Transfer failed: Transfer\.DestinationNotAllowed: /, task: 'Prepare' },
      { args: ['transfer', 's3://in-bucket/dir/file.bin', '--folder', folder.id], env: { TRANSFER_MAX_FILE_SIZE: '999' }, line: /^Transfer failed: Transfer\.SourceTooLarge: /, task: 'Prepare' },
      { args: ['sync', 's3://in-bucket/dir/', '--folder', '987654321', ...report], line: /^Sync failed: Transfer\.DestinationNotFound: .*987654321/, task: 'PlanSync' },
      { args: ['sync', 's3://in-bucket/dir/', '--folder', folder.id, '--manifest', 's3://report-bucket/lists/missing.jsonl', ...report], line: /^Sync failed: Transfer\.SourceNotFound: source\.manifest: /, task: 'PlanSync' },
      { args: ['sync', 's3://in-bucket/', '--folder', folder.id, '--manifest', 's3://report-bucket/lists/twice.jsonl', ...report], line: /^Sync failed: Transfer\.InvalidInput: .*lists the key "dir\/file\.bin" twice, on lines 1 and 2/, task: 'PlanSync' },
    ];
    box.resetStats();
    const runs = await inTurn(
      cases.flatMap((c) => [() => cli([...c.args, ...boxArgs], { ...env, ...c.env }), () => cli([...c.args, '--verbose', ...boxArgs], { ...env, ...c.env })]),
    );
    cases.forEach((c, i) => {
      const [plain, verbose] = [runs[2 * i]!, runs[2 * i + 1]!];
      const what = c.args.join(' ');
      // Without --verbose: the final line alone (a progress line may come before it, never a JSON log line).
      expect({ what, code: plain.code, stdout: plain.stdout }).toEqual({ what, code: 2, stdout: '' });
      const lines = plain.stderr.split('\n').filter((l) => l.trim() !== '');
      expect(lines.filter((l) => l.trimStart().startsWith('{')), `${what}: no JSON log line`).toEqual([]);
      expect(lines.at(-1), what).toMatch(c.line);
      expect(lines.filter((l) => /failed: Transfer\./.test(l)), `${what}: said once`).toHaveLength(1);
      // With --verbose: the task's log line of the refusal is there too, then the same final line.
      expect(verbose.code, what).toBe(2);
      const logged = verbose.stderr.split('\n').filter((l) => l.trimStart().startsWith('{')).map((l) => JSON.parse(l.trim()) as { level: string; message: string; error?: { name: string } });
      expect(logged.some((l) => l.level === 'error' && l.message === `${c.task} failed` && l.error?.name === lines.at(-1)!.split(': ')[1]), `${what} --verbose logs ${c.task} failed`).toBe(true);
      expect(verbose.stderr.trimEnd().split('\n').at(-1), what).toMatch(c.line);
    });
    expect(box.stats().requests.uploadFile + box.stats().requests.createSession).toBe(0);
  });

  it('input the schema refuses is said once, as one line, before anything runs: no Lambda log line, no progress line', async () => {
    const report = ['--report', 's3://report-bucket/runs/'];
    const cases: Array<{ args: string[]; stderr: string }> = [
      {
        args: ['transfer', 's3://in-bucket/dir/file.bin', '--folder', folder.id, '--name', ' lead'],
        stderr: "Transfer failed: Transfer.InvalidInput: Invalid transfer input: destination.fileName must not contain '/', '\\' or control characters, start or end with a space, or be '.' or '..'\n",
      },
      {
        args: ['transfer', 's3://in-bucket/dir/file.bin', '--folder', folder.id, '--name', 'x/y'],
        stderr: "Transfer failed: Transfer.InvalidInput: Invalid transfer input: destination.fileName must not contain '/', '\\' or control characters, start or end with a space, or be '.' or '..'\n",
      },
      {
        args: ['transfer', 's3://in-bucket/dir/file.bin', '--folder', folder.id, '--resume', 'not-a-session'],
        stderr: 'Transfer failed: Transfer.InvalidInput: Invalid transfer input: resume.sessionId must be letters and digits (a Box upload session id)\n',
      },
      {
        args: ['transfer', 's3://in-bucket/dir/', '--folder', folder.id],
        stderr: 'Transfer failed: Transfer.InvalidInput: destination.fileName is required: the last segment of source.key "dir/" is not a usable Box file name (it is empty)\n',
      },
      {
        args: ['sync', 's3://in-bucket/dir/', '--folder', 'abc', ...report],
        stderr: 'Sync failed: Transfer.InvalidInput: Invalid sync input: destination.folderId must be a string of digits\n',
      },
    ];
    box.resetStats();
    const runs = await inTurn(cases.map((c) => () => cli([...c.args, ...boxArgs], env)));
    cases.forEach((c, i) => expect({ args: c.args.join(' '), ...runs[i] }).toEqual({ args: c.args.join(' '), code: 2, stdout: '', stderr: c.stderr }));
    // Refused before the runner started: no Lambda asked Box anything.
    expect(box.stats().requests).toEqual(Object.fromEntries(Object.keys(box.stats().requests).map((k) => [k, 0])));
  });
});
