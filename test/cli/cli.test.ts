// The s3-to-box command line, run as a user runs it: a child process under this Node, against
// s3rver and the Box emulator started here on free loopback ports.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBoxEmulator } from '../../local/box-emulator/index.ts';
import type { BoxEmulator } from '../../local/box-emulator/index.ts';
import { putGeneratedObject, startLocalS3 } from '../../local/runner/index.ts';
import type { LocalS3 } from '../../local/runner/index.ts';
import { BIN, cli, inTurn } from './run-cli.ts';
import type { CliRun } from './run-cli.ts';

describe('s3-to-box --help', () => {
  it('lists the commands and their options', async () => {
    const top = await cli(['--help']);
    expect(top.code).toBe(0);
    for (const command of ['demo', 'transfer', 'emulator']) expect(top.stdout).toContain(command);

    const transfer = await cli(['transfer', '--help']);
    expect(transfer.code).toBe(0);
    for (const flag of ['--folder', '--on-conflict', '--concurrency', '--s3-endpoint', '--box-api-url', '--box-upload-url', '--box-token', '--json']) {
      expect(transfer.stdout).toContain(flag);
    }
    expect(transfer.stdout).toContain('BOX_CLIENT_ID');
  });

  it('--version prints the package version; the top-level help names the exit statuses', async () => {
    const pkg = JSON.parse(await readFile(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    for (const flag of ['--version', '-V']) {
      const run = await cli([flag]);
      expect(run).toMatchObject({ code: 0, stdout: `${pkg.version}\n` });
    }
    const top = await cli(['--help']);
    for (const line of [
      /^ {2}0 {2}done$/m,
      /^ {2}1 {2}failed, nothing to resume$/m,
      /^ {2}2 {2}bad usage or bad input/m,
      /^ {2}3 {2}failed, and the Box upload session is kept/m,
      /^ {2}4 {2}a bulk run finished with some objects failed$/m,
    ]) {
      expect(top.stdout).toMatch(line);
    }
  });

  it('every command\'s --help ends with examples of it', async () => {
    const top = await cli(['--help']);
    // The commands as the top-level help lists them ("Commands:" up to the next blank line).
    const section = top.stdout.split('Commands:\n')[1]?.split('\n\n')[0] ?? '';
    const commands = section
      .split('\n')
      .map((l) => /^ {2}(\S+)/.exec(l)?.[1])
      .filter((c): c is string => c !== undefined && c !== 'help');
    expect(commands).toEqual(expect.arrayContaining(['demo', 'transfer', 'abort', 'emulator']));
    for (const command of commands) {
      const help = await cli([command, '--help']);
      expect(help.code).toBe(0);
      const examples = help.stdout.split('\nExamples:\n')[1];
      expect(examples, `${command} --help has no Examples section`).toBeDefined();
      expect(examples).toMatch(new RegExp(`^ {2}\\$ (npm start|.*s3-to-box ${command})`, 'm'));
    }
  }, 180_000); // one CLI process per command, one after another: minutes on a loaded machine

  it('rejects bad arguments with a clear message and exit status 2 (bad usage)', async () => {
    const badUrl = await cli(['transfer', 'bucket/key', '--folder', '0']);
    expect(badUrl.code).toBe(2);
    expect(badUrl.stderr).toContain('is not an S3 URL');

    const badPolicy = await cli(['transfer', 's3://b/k', '--folder', '0', '--on-conflict', 'overwrite']);
    expect(badPolicy.code).toBe(2);
    expect(badPolicy.stderr).toContain('is not one of version, rename, fail');

    const noFolder = await cli(['transfer', 's3://b/k']);
    expect(noFolder.code).toBe(2);
    expect(noFolder.stderr).toContain('--folder');

    // The emulator command is added whole (addCommand), and exits 2 on bad usage like the others.
    const badPort = await cli(['emulator', '--port', 'abc']);
    expect(badPort.code).toBe(2);
  });
});

describe('s3-to-box demo', () => {
  it('moves a generated object through the state machine and verifies it byte for byte', async () => {
    const run = await cli(['demo', '--size', '21MB', '--json']);
    expect(run.stderr).not.toContain('failed');
    expect(run.code).toBe(0);
    const out = JSON.parse(run.stdout) as { verified: boolean; mode: string; file: { size: number; sha1: string }; sourceSha1: string; parts: number };
    expect(out.verified).toBe(true);
    expect(out.mode).toBe('chunked');
    expect(out.file.size).toBe(21_000_000);
    expect(out.file.sha1).toBe(out.sourceSha1);
    expect(out.parts).toBe(3);
  });

  it('exits as every command does: 2 for bad usage or set-up, 1 for a failed transfer, whose failure document --json prints', async () => {
    const [zeroPartSize, badSetting, tooManyParts] = (await inTurn([
      () => cli(['demo', '--size', '1MB', '--part-size', '0']),
      () => cli(['demo', '--size', '1MB', '--json'], { TRANSFER_PARTS_READ_AHEAD: 'x' }),
      // 20,508 parts of 1 KiB: Box refuses a session it could not list (Box.TooManyParts), not bad input.
      () => cli(['demo', '--size', '21MB', '--part-size', '1KiB', '--json']),
    ], 1)) as [CliRun, CliRun, CliRun];
    expect(zeroPartSize.code, zeroPartSize.stderr).toBe(2);
    expect(zeroPartSize.stderr).toContain(`option '--part-size <size>' argument '0' is invalid. "0" is not a positive size.`);
    expect(badSetting.code, badSetting.stderr).toBe(2);
    expect(JSON.parse(badSetting.stdout)).toEqual({ error: { name: 'Transfer.ConfigurationError', message: expect.stringContaining('TRANSFER_PARTS_READ_AHEAD') as unknown }, resumable: false });
    expect(tooManyParts.code, tooManyParts.stderr).toBe(1);
    // Never resumable: the session was in the emulator, which ends with the demo.
    expect(JSON.parse(tooManyParts.stdout)).toEqual({ error: { name: 'Box.TooManyParts', message: expect.any(String) as unknown }, resumable: false });
  });
});

describe('s3-to-box transfer', () => {
  let s3: LocalS3;
  let box: BoxEmulator;
  let env: Record<string, string>;
  let boxArgs: string[];

  beforeAll(async () => {
    s3 = await startLocalS3({ buckets: ['cli-bucket'] });
    box = await startBoxEmulator({ partSize: 4 * 1024 * 1024 });
    env = { AWS_ACCESS_KEY_ID: 'S3RVER', AWS_SECRET_ACCESS_KEY: 'S3RVER', BOX_SECRET_ARN: '' };
    boxArgs = ['--s3-endpoint', s3.endpoint, '--box-api-url', box.url, '--box-upload-url', box.uploadUrl];
  });
  afterAll(async () => {
    await box?.close();
    await s3?.close();
  });

  it('transfers s3://BUCKET/KEY into a folder and prints the output document with --json', async () => {
    const key = 'reports/März 2026 final.bin';
    const object = await putGeneratedObject(s3.client, { bucket: 'cli-bucket', key, size: 20_000_001 });
    const folder = await box.createFolder('Imports');
    const run = await cli(
      ['transfer', `s3://cli-bucket/${key}`, '--folder', folder.id, '--name', 'march.bin', '--concurrency', '3', '--json', ...boxArgs],
      { ...env, BOX_DEVELOPER_TOKEN: box.token },
    );
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    const out = JSON.parse(run.stdout) as { file: { id: string; name: string; size: number; sha1: string; parentId: string }; mode: string; parts: number };
    expect(out).toMatchObject({ mode: 'chunked', parts: 5, file: { name: 'march.bin', size: object.size, sha1: object.sha1, parentId: folder.id } });
    const bytes = await box.readFileContent(out.file.id);
    expect(createHash('sha1').update(bytes).digest('hex')).toBe(object.sha1);
  });

  it('takes the token from --box-token, which wins over the environment\'s credentials', async () => {
    const object = await putGeneratedObject(s3.client, { bucket: 'cli-bucket', key: 'token/flag.bin', size: 5000 });
    const folder = await box.createFolder('By flag');
    // No token in the environment: only the flag can authorize the upload.
    const run = await cli(['transfer', 's3://cli-bucket/token/flag.bin', '--folder', folder.id, '--box-token', box.token, '--json', ...boxArgs], {
      ...env,
      BOX_DEVELOPER_TOKEN: '',
    });
    expect(run.code).toBe(0);
    const out = JSON.parse(run.stdout) as { file: { id: string; sha1: string; parentId: string } };
    expect(out.file).toMatchObject({ sha1: object.sha1, parentId: folder.id });
    expect(run.stderr).not.toContain(box.token);
    // A wrong flag is used even though the environment holds a good token: Box refuses it.
    const wrong = await cli(['transfer', 's3://cli-bucket/token/flag.bin', '--folder', folder.id, '--box-token', 'not-a-token', ...boxArgs], {
      ...env,
      BOX_DEVELOPER_TOKEN: box.token,
    });
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toContain('Box.Unauthorized');
    expect(wrong.stderr).not.toContain('not-a-token');
  });

  it('fails clearly (exit 2, bad input, and the error name) on a missing object', async () => {
    const run = await cli(['transfer', 's3://cli-bucket/no/such/key.bin', '--folder', '0', '--box-token', box.token, ...boxArgs], env);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('Transfer.SourceNotFound');
    expect(run.stderr).not.toContain(box.token);
  });

  it('fails clearly without Box credentials (exit 2: the configuration must change)', async () => {
    await putGeneratedObject(s3.client, { bucket: 'cli-bucket', key: 'small.bin', size: 10 });
    const run = await cli(['transfer', 's3://cli-bucket/small.bin', '--folder', '0', ...boxArgs], {
      ...env,
      BOX_DEVELOPER_TOKEN: '',
      BOX_CLIENT_ID: '',
      BOX_CLIENT_SECRET: '',
    });
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('Transfer.ConfigurationError: No Box credentials');
  });
});

describe('s3-to-box emulator', () => {
  it('prints its URLs, serves Box requests, and stops on SIGINT', async () => {
    const child = spawn(process.execPath, [BIN, 'emulator', '--port', '0', '--token', 'cli-token'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    try {
      const url = await new Promise<string>((resolve, reject) => {
        let out = '';
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          const m = /API base URL:\s+(http:\/\/\S+)/.exec(out);
          if (m) resolve(m[1]!);
        });
        child.on('error', reject);
        child.on('close', () => reject(new Error(`emulator exited early: ${out}`)));
      });
      const ok = await fetch(`${url}/2.0/folders/0/items`, { headers: { authorization: 'Bearer cli-token' } });
      expect(ok.status).toBe(200);
      const denied = await fetch(`${url}/2.0/folders/0/items`, { headers: { authorization: 'Bearer wrong' } });
      expect(denied.status).toBe(401);
      child.kill('SIGINT');
      expect(await exited).toBe(0);
    } finally {
      // A failed expectation above must not leave the emulator running.
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });
});
