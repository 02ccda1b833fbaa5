// The command line around a transfer that does not finish, run as a user runs it (a child process under
// this Node, against s3rver and the Box emulator started here): the exit statuses, the failure document
// on stdout with --json, the printed resume and discard commands, --resume and --resume-input, Ctrl-C,
// and `s3-to-box abort`.
import { spawn } from 'node:child_process';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startBoxEmulator } from '../../local/box-emulator/index.ts';
import type { BoxEmulator } from '../../local/box-emulator/index.ts';
import { putGeneratedObject, startLocalS3 } from '../../local/runner/index.ts';
import type { LocalS3 } from '../../local/runner/index.ts';
import { BoxClient, DeveloperTokenAuth } from '../../src/box/index.ts';
import type { FailureDocument } from '../../src/transfer/contract.ts';
import { BIN, finished, spawnCli } from './run-cli.ts';
import type { CliRun as Run } from './run-cli.ts';

const MiB = 1024 * 1024;
const PART = 4 * MiB;
const SIZE = 20 * MiB + 12_345; // 6 parts

/** A printed command line run by a shell, as a user pastes it, with `s3-to-box` being this CLI. */
function spawnShell(line: string, env: Record<string, string>): ChildProcessWithoutNullStreams {
  const script = `s3-to-box() { "$S3_TO_BOX_NODE" "$S3_TO_BOX_BIN" "$@"; }\n${line}`;
  return spawn('bash', ['-c', script], {
    env: { ...process.env, ...env, NO_COLOR: '1', S3_TO_BOX_NODE: process.execPath, S3_TO_BOX_BIN: BIN },
    stdio: 'pipe',
  });
}

// Each test starts the CLI (a Node process that loads the TypeScript sources) two or three times and
// moves 20 MB: ~20 s on two busy cores. Give them room rather than rely on the suite's default.
const CLI_TEST_TIMEOUT_MS = 180_000;

describe('s3-to-box transfer, when it does not finish', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  let s3: LocalS3;
  let box: BoxEmulator;
  let env: Record<string, string>;
  let boxArgs: string[];
  let keys = 0;

  const cli = (args: string[], stdin?: string): Promise<Run> => finished(spawnCli(args, env), stdin);
  const sha1Of = async (fileId: string): Promise<string> => createHash('sha1').update(await box.readFileContent(fileId)).digest('hex');
  async function object(): Promise<{ key: string; sha1: string; url: string }> {
    const key = `exports/run ${++keys}.bin`;
    const put = await putGeneratedObject(s3.client, { bucket: 'cli-resume', key, size: SIZE });
    return { key, sha1: put.sha1, url: `s3://cli-resume/${key}` };
  }

  /** Holds every part upload from the `nth` on at Box, until `release()`. */
  function holdParts(nth: number): { nth: number; release: () => void } {
    let release!: () => void;
    const until = new Promise<void>((resolve) => (release = resolve));
    box.faults.inject({ operation: 'uploadPart', nth, times: 1_000, action: { type: 'hold', until } });
    return { nth, release: () => release() };
  }

  /** Ctrl-C once the held part has reached Box (one part at a time, --concurrency 1: the held one is the last). */
  async function stopWhileHeld(child: ChildProcessWithoutNullStreams, hold: { nth: number }): Promise<void> {
    for (let i = 0; i < 2400 && box.stats().requests.uploadPart < hold.nth; i++) await sleep(25);
    expect(box.stats().requests.uploadPart).toBe(hold.nth);
    child.kill('SIGINT');
  }

  beforeAll(async () => {
    s3 = await startLocalS3({ buckets: ['cli-resume'] });
    box = await startBoxEmulator({ partSize: PART });
    env = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', BOX_SECRET_ARN: '', BOX_DEVELOPER_TOKEN: box.token };
    boxArgs = ['--s3-endpoint', s3.endpoint, '--box-api-url', box.url, '--box-upload-url', box.uploadUrl];
  });
  afterEach(() => box.faults.clear());
  afterAll(async () => {
    await box?.close();
    await s3?.close();
  });

  it('exits 3 with the failure document on stdout (--json), and --resume-input takes it back: only the missing parts are sent', async () => {
    const folder = await box.createFolder('json-resume');
    const source = await object();
    // Box stores two parts, then refuses the third with an error nothing retries (the session is kept).
    box.faults.inject({ operation: 'uploadPart', nth: 3, times: 1_000, action: { type: 'status', status: 409, code: 'conflict' } });
    const failed = await cli(['transfer', source.url, '--folder', folder.id, '--concurrency', '1', '--json', ...boxArgs]);
    expect(failed.code, failed.stderr).toBe(3);
    const failure = JSON.parse(failed.stdout) as FailureDocument;
    const [session] = box.listSessions().filter((s) => s.folderId === folder.id);
    expect(failure).toMatchObject({
      error: { name: 'Box.Conflict' },
      resumable: true,
      resumeInput: {
        source: { bucket: 'cli-resume', key: source.key },
        destination: { folderId: folder.id },
        options: { concurrency: 1 },
        resume: { sessionId: session!.id, fileName: `run ${keys}.bin` },
      },
    });
    expect(session!.status).toBe('open');

    box.faults.clear();
    box.resetStats();
    // The whole document on stdin (its resumeInput is taken), with the S3 and Box options of the first run.
    const resumed = await cli(['transfer', '--resume-input', '-', '--json', ...boxArgs], failed.stdout);
    expect(resumed.code, resumed.stderr).toBe(0);
    const output = JSON.parse(resumed.stdout) as { file: { id: string; sha1: string; size: number } };
    expect(output.file).toMatchObject({ sha1: source.sha1, size: SIZE });
    expect(await sha1Of(output.file.id)).toBe(source.sha1);
    expect(box.stats().requests.uploadPart).toBe(6 - 2);
    expect(box.listSessions().find((s) => s.id === session!.id)?.status).toBe('committed');
  });

  it('without --json says how to resume (the same arguments and --resume) or discard, and the printed command works', async () => {
    const folder = await box.createFolder('text-resume');
    const source = await object();
    box.faults.inject({ operation: 'uploadPart', nth: 2, times: 1_000, action: { type: 'status', status: 409, code: 'conflict' } });
    const failed = await cli(['transfer', source.url, '--folder', folder.id, '--concurrency', '1', '--quiet', ...boxArgs]);
    expect(failed.code).toBe(3);
    const [session] = box.listSessions().filter((s) => s.folderId === folder.id);
    expect(failed.stderr).toContain('Transfer failed: Box.Conflict:');
    expect(failed.stderr).toContain(`The Box upload session ${session!.id} is kept`);
    const quotedUrl = `'${source.url}'`;
    expect(failed.stderr).toContain(`resume:  s3-to-box transfer ${quotedUrl} --folder ${folder.id} --concurrency 1 --s3-endpoint ${s3.endpoint}`);
    expect(failed.stderr).toMatch(new RegExp(`--resume ${session!.id}\\n`));
    expect(failed.stderr).toContain(`discard: s3-to-box abort ${session!.id}`);
    expect(failed.stdout).toBe('');

    box.faults.clear();
    const resumed = await cli(['transfer', source.url, '--folder', folder.id, '--resume', session!.id, '--quiet', ...boxArgs]);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toMatch(/^Done: .* \(chunked, 6 parts\)\n$/);
    const file = box.findFile(folder.id, `run ${keys}.bin`);
    expect(await sha1Of(file!.id)).toBe(source.sha1);
  });

  it('after --on-conflict rename, the printed command resumes into the renamed file, pinned to the ETag the failed run read', async () => {
    const folder = await box.createFolder('rename-resume');
    const source = await object();
    const name = `run ${keys}.bin`;
    // The name is taken, so the session is created for "run N (1).bin".
    const client = new BoxClient({ auth: new DeveloperTokenAuth(box.token), apiUrl: box.url, uploadUrl: box.uploadUrl });
    const taken = await client.files.uploadFile({ parentFolderId: folder.id, fileName: name, file: Buffer.from('first'), fileSize: 5 });
    await client.close();
    const renamed = `run ${keys} (1).bin`;
    box.faults.inject({ operation: 'uploadPart', nth: 3, times: 1_000, action: { type: 'status', status: 409, code: 'conflict' } });
    const failed = await cli(['transfer', source.url, '--folder', folder.id, '--on-conflict', 'rename', '--concurrency', '1', '--quiet', ...boxArgs]);
    expect(failed.code, failed.stderr).toBe(3);
    const [session] = box.listSessions().filter((s) => s.folderId === folder.id);
    expect(session).toMatchObject({ fileName: renamed, status: 'open', partsUploaded: 2 });
    const line = /^ {2}resume: {2}(s3-to-box transfer .*)$/m.exec(failed.stderr)?.[1];
    expect(line, failed.stderr).toBeDefined();
    expect(line).toContain(`--name '${renamed}'`);
    expect(line).toMatch(/ --resume-etag [0-9a-f]{32}(-\d+)? /);
    expect(line).toMatch(new RegExp(`--resume ${session!.id}$`));

    // The printed command, pasted into a shell, fails again (still in the renamed file's session) with a
    // document that still names the renamed file and carries the pin.
    box.faults.clear();
    box.faults.inject({ operation: 'uploadPart', nth: 2, times: 1_000, action: { type: 'status', status: 409, code: 'conflict' } });
    box.resetStats();
    const again = await finished(spawnShell(`${line!} --json`, env));
    expect(again.code, again.stderr).toBe(3);
    const failure = JSON.parse(again.stdout) as FailureDocument;
    expect(failure.resumeInput).toMatchObject({
      destination: { folderId: folder.id, fileName: renamed },
      resume: { sessionId: session!.id, fileName: renamed, etag: expect.stringMatching(/[0-9a-f]{32}/) as unknown },
    });
    expect(box.stats().requests.createSession ?? 0).toBe(0);
    expect(box.stats().requests.uploadPart).toBe(2); // one stored, one refused

    // And the same printed command completes it: only the missing parts are sent, into the renamed file.
    box.faults.clear();
    box.resetStats();
    const resumed = await finished(spawnShell(line!, env));
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stdout).toContain(`"${renamed}"`);
    expect(box.stats().requests.uploadPart).toBe(6 - 3);
    const file = box.findFile(folder.id, renamed);
    expect(file?.id).not.toBe(taken.id);
    expect(await sha1Of(file!.id)).toBe(source.sha1);
    expect((await box.readFileContent(taken.id)).toString()).toBe('first');
    expect(box.listSessions().find((s) => s.id === session!.id)?.status).toBe('committed');
  });

  it('a resume refused as expiring too soon keeps the session (exit 3), and the printed command with --resume-ignore-expiry completes it', async () => {
    const folder = await box.createFolder('expiring-resume');
    const source = await object();
    box.faults.inject({ operation: 'uploadPart', nth: 3, times: 1_000, action: { type: 'status', status: 409, code: 'conflict' } });
    const failed = await cli(['transfer', source.url, '--folder', folder.id, '--concurrency', '1', '--quiet', ...boxArgs]);
    expect(failed.code, failed.stderr).toBe(3);
    const [session] = box.listSessions().filter((s) => s.folderId === folder.id);
    box.faults.clear();

    // Box gives a session 7 days; a margin of 8 days makes every resume look too late.
    const late = { ...env, TRANSFER_RESUME_MARGIN_SECONDS: String(8 * 86_400) };
    const refused = await finished(spawnCli(['transfer', source.url, '--folder', folder.id, '--resume', session!.id, '--quiet', ...boxArgs], late));
    expect(refused.code, refused.stderr).toBe(3);
    expect(refused.stderr).toContain('Transfer failed: Transfer.SessionExpiring:');
    expect(refused.stderr).toContain('The session is kept with its 2 stored parts');
    expect(refused.stderr).toContain(`discard: s3-to-box abort ${session!.id}`);
    expect(box.listSessions().find((s) => s.id === session!.id)).toMatchObject({ status: 'open', partsUploaded: 2 });
    const line = /^ {2}resume: {2}(s3-to-box transfer .*)$/m.exec(refused.stderr)?.[1];
    expect(line, refused.stderr).toMatch(new RegExp(` --resume-ignore-expiry --resume ${session!.id}$`));

    box.resetStats();
    const resumed = await finished(spawnShell(line!, late));
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(box.stats().requests.uploadPart).toBe(6 - 2);
    const file = box.findFile(folder.id, `run ${keys}.bin`);
    expect(await sha1Of(file!.id)).toBe(source.sha1);
    expect(box.listSessions().find((s) => s.id === session!.id)?.status).toBe('committed');

    const alone = await cli(['transfer', source.url, '--folder', folder.id, '--resume-ignore-expiry', ...boxArgs]);
    expect(alone.code).toBe(2);
    expect(alone.stderr).toContain('--resume-ignore-expiry applies to a resumed run: give it with --resume');
  });

  it('exits 1 when nothing can be resumed (a terminal error aborts the session), 2 for bad usage or input', async () => {
    const folder = await box.createFolder('terminal');
    const source = await object();
    box.faults.inject({ operation: 'uploadPart', nth: 2, action: { type: 'status', status: 403, code: 'access_denied_insufficient_permissions' } });
    const failed = await cli(['transfer', source.url, '--folder', folder.id, '--json', ...boxArgs]);
    expect(failed.code).toBe(1);
    expect(JSON.parse(failed.stdout)).toEqual({ error: { name: 'Box.Forbidden', message: expect.any(String) as unknown }, resumable: false });
    expect(box.listSessions().filter((s) => s.folderId === folder.id).map((s) => s.status)).toEqual(['aborted']);

    const badInput = await cli(['transfer', source.url, '--folder', 'not-a-folder', '--json', ...boxArgs]);
    expect(badInput.code).toBe(2);
    expect(JSON.parse(badInput.stdout)).toMatchObject({ error: { name: 'Transfer.InvalidInput', message: expect.stringContaining('destination.folderId') as unknown }, resumable: false });

    const clash = await cli(['transfer', source.url, '--resume-input', '-', ...boxArgs], '{}');
    expect(clash.code).toBe(2);
    expect(clash.stderr).toContain('--resume-input brings the whole input: drop s3://BUCKET/KEY');
    const notJson = await cli(['transfer', '--resume-input', '-', ...boxArgs], 'resume me');
    expect(notJson.code).toBe(2);
    expect(notJson.stderr).toContain('is not JSON');
    const notResumable = await cli(['transfer', '--resume-input', '-', ...boxArgs], failed.stdout);
    expect(notResumable.code).toBe(2);
    expect(notResumable.stderr).toContain('holds no resume input');
    const unknownOption = await cli(['transfer', source.url, '--folder', '0', '--no-such-option']);
    expect(unknownOption.code).toBe(2);
  });

  it('Ctrl-C stops the run and keeps the session: exit 3, the failure document says how to resume, and the resume completes', async () => {
    const folder = await box.createFolder('ctrl-c');
    const source = await object();
    // From the 3rd on, parts are held at Box until the CLI has taken the Ctrl-C: the run is surely mid-way.
    const hold = holdParts(3);
    box.resetStats();
    const child = spawnCli(['transfer', source.url, '--folder', folder.id, '--concurrency', '1', '--json', ...boxArgs], env);
    const run = finished(child);
    try {
      await stopWhileHeld(child, hold);
      const stopped = await run;
      expect(stopped.code, stopped.stderr).toBe(3);
      const failure = JSON.parse(stopped.stdout) as FailureDocument;
      const [session] = box.listSessions().filter((s) => s.folderId === folder.id);
      expect(failure).toMatchObject({ error: { name: 'Transfer.Stopped' }, resumable: true, resumeInput: { resume: { sessionId: session!.id } } });
      expect(session!.status).toBe('open');
      expect(box.findFile(folder.id, `run ${keys}.bin`)).toBeUndefined();

      box.faults.clear();
      const resumed = await cli(['transfer', '--resume-input', '-', '--json', ...boxArgs], JSON.stringify(failure.resumeInput));
      expect(resumed.code, resumed.stderr).toBe(0);
      const output = JSON.parse(resumed.stdout) as { file: { id: string } };
      expect(await sha1Of(output.file.id)).toBe(source.sha1);
    } finally {
      hold.release();
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });

  it('Ctrl-C without --json prints how to resume or discard', async () => {
    const folder = await box.createFolder('ctrl-c-text');
    const source = await object();
    const hold = holdParts(2);
    box.resetStats();
    const child = spawnCli(['transfer', source.url, '--folder', folder.id, '--concurrency', '1', '--quiet', ...boxArgs], env);
    const run = finished(child);
    try {
      await stopWhileHeld(child, hold);
      const stopped = await run;
      expect(stopped.code).toBe(3);
      const [session] = box.listSessions().filter((s) => s.folderId === folder.id);
      expect(stopped.stderr).toContain(`Transfer stopped: Transfer.Stopped: Stopped by the user; the Box upload session ${session!.id} is kept`);
      expect(stopped.stderr).toContain(`--resume ${session!.id}`);
      expect(stopped.stderr).toContain(`discard: s3-to-box abort ${session!.id}`);
    } finally {
      hold.release();
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});

describe('s3-to-box transfer, Ctrl-C while Prepare creates the session', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  let s3: LocalS3;
  let box: BoxEmulator;
  beforeAll(async () => {
    s3 = await startLocalS3({ buckets: ['cli-stop'] });
    box = await startBoxEmulator({ partSize: PART });
  });
  afterAll(async () => {
    await box?.close();
    await s3?.close();
  });

  it('waits for Prepare to end, then keeps and prints the session it created: exit 3, and nothing more was sent', async () => {
    const folder = await box.createFolder('stop-in-prepare');
    await putGeneratedObject(s3.client, { bucket: 'cli-stop', key: 'early.bin', size: SIZE });
    // The create-session request is held at Box until the CLI has taken the Ctrl-C.
    let release!: () => void;
    box.faults.inject({ operation: 'createSession', action: { type: 'hold', until: new Promise<void>((resolve) => (release = resolve)) } });
    const env = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', BOX_SECRET_ARN: '', BOX_DEVELOPER_TOKEN: box.token };
    const child = spawnCli(
      ['transfer', 's3://cli-stop/early.bin', '--folder', folder.id, '--json', '--s3-endpoint', s3.endpoint, '--box-api-url', box.url, '--box-upload-url', box.uploadUrl],
      env,
    );
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const run = finished(child);
    try {
      for (let i = 0; i < 2400 && box.stats().requests.createSession < 1; i++) await sleep(25);
      expect(box.stats().requests.createSession).toBe(1);
      child.kill('SIGINT');
      for (let i = 0; i < 2400 && !stderr.includes('Stopping: waiting for Prepare'); i++) await sleep(25);
      expect(stderr).toContain('Stopping: waiting for Prepare, still running, to end');
      release();
      const stopped = await run;
      expect(stopped.code, stopped.stderr).toBe(3);
      const [session] = box.listSessions();
      const failure = JSON.parse(stopped.stdout) as FailureDocument;
      expect(failure).toMatchObject({ error: { name: 'Transfer.Stopped' }, resumable: true, resumeInput: { resume: { sessionId: session!.id, fileName: 'early.bin' } } });
      expect(session).toMatchObject({ status: 'open', partsUploaded: 0 });
      // Nothing started after the stop: no part was sent.
      expect(box.stats().requests.uploadPart).toBe(0);
    } finally {
      release?.();
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});

describe('s3-to-box abort', { timeout: CLI_TEST_TIMEOUT_MS }, () => {
  let box: BoxEmulator;
  beforeAll(async () => {
    box = await startBoxEmulator({ partSize: PART });
  });
  afterAll(async () => {
    await box?.close();
  });
  const abort = (args: string[]): Promise<Run> =>
    finished(spawnCli(['abort', ...args, '--box-api-url', box.url, '--box-upload-url', box.uploadUrl], { BOX_SECRET_ARN: '', BOX_DEVELOPER_TOKEN: box.token }));

  it('discards a kept session (exit 0), says so when Box has no such session (exit 1), refuses a malformed id (exit 2)', async () => {
    const folder = await box.createFolder('abort');
    const created = await fetch(`${box.uploadUrl}/2.0/files/upload_sessions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${box.token}`, 'content-type': 'application/json' },
      body: JSON.stringify({ folder_id: folder.id, file_size: SIZE, file_name: 'kept.bin' }),
    });
    const session = (await created.json()) as { id: string };
    expect(box.listSessions().find((s) => s.id === session.id)?.status).toBe('open');

    const done = await abort([session.id, '--json']);
    expect(done.code, done.stderr).toBe(0);
    expect(JSON.parse(done.stdout)).toEqual({ sessionId: session.id, aborted: true });
    expect(box.listSessions().find((s) => s.id === session.id)?.status).toBe('aborted');

    const unknown = await abort(['0123456789ABCDEF0123456789ABCDEF']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain('Box has no open upload session 0123456789ABCDEF0123456789ABCDEF');

    const malformed = await abort(['../etc']);
    expect(malformed.code).toBe(2);
    expect(box.stats().requests.abortSession).toBe(2);
  });
});
