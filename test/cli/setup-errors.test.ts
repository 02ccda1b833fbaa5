// Set-up mistakes a new user makes first, through the real command line: a URL option (or variable) that is not a URL, and
// no AWS credentials at all. Each is said once, naming what to change, with exit 2 (bad usage or
// configuration), before any Lambda runs.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseHttpUrl } from '../../local/cli/options.ts';
import { cli, inTurn } from './run-cli.ts';
import type { CliRun } from './run-cli.ts';

/** No AWS credentials anywhere: no keys, no profile, empty config files, no container or instance metadata. */
const NO_AWS: Record<string, string> = {
  AWS_ACCESS_KEY_ID: '',
  AWS_SECRET_ACCESS_KEY: '',
  AWS_SESSION_TOKEN: '',
  AWS_PROFILE: '',
  AWS_DEFAULT_PROFILE: '',
  AWS_CONFIG_FILE: '/dev/null',
  AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
  AWS_WEB_IDENTITY_TOKEN_FILE: '',
  AWS_ROLE_ARN: '',
  AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: '',
  AWS_CONTAINER_CREDENTIALS_FULL_URI: '',
  AWS_EC2_METADATA_DISABLED: 'true',
  BOX_DEVELOPER_TOKEN: 'unused-token',
};

/** Nothing listens on port 9 of the loopback. */
const NOWHERE = 'http://127.0.0.1:9';

describe('set-up mistakes', () => {
  it('takes http and https URLs as typed, and refuses anything else', () => {
    for (const url of ['http://127.0.0.1:4568', 'https://s3.eu-west-1.amazonaws.com', 'https://api.box.com', 'http://localhost:8088/api']) {
      expect(parseHttpUrl(url)).toBe(url);
    }
    for (const bad of ['notaurl', '127.0.0.1:4568', 'ftp://host/x', 's3://bucket', 'http://', 'file:///tmp/x', '']) {
      expect(() => parseHttpUrl(bad), bad).toThrow(`"${bad}" is not an http(s) URL`);
    }
  });

  it('a URL option that is not an http(s) URL is a usage error naming the option (exit 2), before any Lambda runs', async () => {
    const cases: Array<{ option: string; args: string[] }> = [
      { option: '--s3-endpoint', args: ['transfer', 's3://b/k', '--folder', '0', '--s3-endpoint', 'notaurl'] },
      { option: '--box-api-url', args: ['transfer', 's3://b/k', '--folder', '0', '--box-api-url', 'api.box.com'] },
      { option: '--box-upload-url', args: ['abort', 'ABC123', '--box-upload-url', 'ftp://upload.box.com'] },
      { option: '--s3-endpoint', args: ['sync', 's3://b/p/', '--folder', '0', '--report', 's3://r/', '--s3-endpoint', 'localhost:4568'] },
      { option: '--sfn-endpoint', args: ['status', 'name', '--state-machine-arn', 'arn:aws:states:us-east-1:1:stateMachine:m', '--sfn-endpoint', 'nope'] },
      { option: '--queue-url', args: ['replay-failed-events', '--queue-url', 'queue', '--state-machine-arn', 'arn:aws:states:us-east-1:1:stateMachine:m'] },
      { option: '--sqs-endpoint', args: ['replay-failed-events', '--queue-url', `${NOWHERE}/q`, '--sqs-endpoint', '127.0.0.1:9'] },
    ];
    const runs = await inTurn(cases.map((c) => () => cli(c.args, { AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'x' })), 1);
    cases.forEach((c, i) => {
      const run = runs[i]!;
      const what = c.args.join(' ');
      expect({ what, code: run.code, stdout: run.stdout }).toEqual({ what, code: 2, stdout: '' });
      expect(run.stderr, what).toMatch(new RegExp(`option '${c.option} <url>' argument '[^']*' is invalid\\. "[^"]*" is not an http\\(s\\) URL`));
      // Refused by the command line itself: no Lambda log line, no progress line, no failure of a run.
      expect(run.stderr, what).not.toMatch(/^\s*\{|failed:/m);
    });
  }, 120_000); // seven CLI processes, one after another

  // Every endpoint of the runs without credentials: a loopback server that counts what reaches it.
  let requests = 0;
  let server: http.Server;
  let counting = '';
  beforeAll(async () => {
    server = http.createServer((_req, res) => {
      requests++;
      res.writeHead(500).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    counting = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server?.close(() => resolve()));
  });

  it('no AWS credentials: transfer, sync, status, replay-failed-events and abort (with BOX_SECRET_ARN) say what to set, exit 2, and send nothing', async () => {
    const [text, json, sync, status, replay, abort] = (await inTurn([
      () => cli(['transfer', 's3://b/k.bin', '--folder', '0', '--s3-endpoint', counting, '--box-api-url', counting, '--box-upload-url', `${counting}/api`], NO_AWS),
      () => cli(['transfer', 's3://b/k.bin', '--folder', '0', '--s3-endpoint', counting, '--box-api-url', counting, '--box-upload-url', `${counting}/api`, '--json'], NO_AWS),
      () => cli(['sync', 's3://b/p/', '--folder', '0', '--report', 's3://r/', '--s3-endpoint', counting, '--box-api-url', counting, '--box-upload-url', `${counting}/api`], NO_AWS),
      () => cli(['status', 'name', '--state-machine-arn', 'arn:aws:states:us-east-1:123456789012:stateMachine:m', '--sfn-endpoint', counting], NO_AWS),
      () =>
        cli(
          ['replay-failed-events', '--queue-url', `${counting}/q`, '--state-machine-arn', 'arn:aws:states:us-east-1:123456789012:stateMachine:m', '--routes', '[{"bucket":"my-exports","folderId":"1"}]', '--sqs-endpoint', counting, '--sfn-endpoint', counting],
          NO_AWS,
        ),
      // The Box secret is read through Secrets Manager, here the counting server.
      () =>
        cli(['abort', 'ABC123', '--box-api-url', counting, '--box-upload-url', `${counting}/api`], {
          ...NO_AWS,
          BOX_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:box',
          AWS_ENDPOINT_URL_SECRETS_MANAGER: counting,
        }),
    ], 1)) as [CliRun, CliRun, CliRun, CliRun, CliRun, CliRun];
    const hint = /No AWS credentials to .*: set AWS_PROFILE .*, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY .*, or run where a role provides them/;
    expect(text.code, text.stderr).toBe(2);
    expect(text.stderr).toMatch(/^Transfer failed: Transfer\.ConfigurationError: No AWS credentials to read s3:\/\/b\/k\.bin: set AWS_PROFILE/m);
    // Said once, as the last line: no Lambda ran, so no log line and no progress line before it.
    expect(text.stderr.trim().split('\n')).toHaveLength(1);
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout)).toEqual({ error: { name: 'Transfer.ConfigurationError', message: expect.stringMatching(hint) as unknown }, resumable: false });
    expect(sync.code, sync.stderr).toBe(2);
    expect(sync.stderr).toMatch(/^Sync failed: Transfer\.ConfigurationError: No AWS credentials to list s3:\/\/b\/p\//m);
    expect(abort.code, abort.stderr).toBe(2);
    expect(abort.stderr).toMatch(/^Abort failed: Transfer\.ConfigurationError: No AWS credentials to read the Box secret BOX_SECRET_ARN names: set AWS_PROFILE/m);
    expect(abort.stderr).toMatch(hint);
    for (const run of [status, replay]) {
      expect(run.code, run.stderr).toBe(2);
      expect(run.stderr).toMatch(/^Transfer\.ConfigurationError: /m);
      expect(run.stderr).toMatch(hint);
    }
    expect(requests).toBe(0);
  }, 120_000); // six CLI processes, one after another

  it('a Box URL from the environment that is not an http(s) URL is said at once, naming the option and the variable (exit 2)', async () => {
    const aws = { AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'x', AWS_EC2_METADATA_DISABLED: 'true', BOX_DEVELOPER_TOKEN: 'unused-token' };
    const [abort, transfer] = (await inTurn([
      () => cli(['abort', 'ABC123', '--json'], { ...aws, BOX_API_URL: 'api.box.example', BOX_UPLOAD_URL: 'ftp://upload.box.example' }),
      () => cli(['transfer', 's3://b/k.bin', '--folder', '0', '--s3-endpoint', counting, '--box-api-url', counting], { ...aws, BOX_UPLOAD_URL: 'ftp://upload.box.example' }),
    ], 1)) as [CliRun, CliRun];
    const use = 'not an http(s) URL; use http://HOST:PORT or https://HOST/PATH';
    expect(abort.code, abort.stderr).toBe(2);
    const both = `--box-api-url (or BOX_API_URL) "api.box.example", --box-upload-url (or BOX_UPLOAD_URL) "ftp://upload.box.example": ${use}`;
    expect(abort.stderr.trim()).toBe(`Abort failed: Transfer.ConfigurationError: ${both}`);
    expect(JSON.parse(abort.stdout)).toEqual({ sessionId: 'ABC123', aborted: false, error: { name: 'Transfer.ConfigurationError', message: both } });
    expect(transfer.code, transfer.stderr).toBe(2);
    expect(transfer.stderr.trim()).toBe(`Transfer failed: Transfer.ConfigurationError: --box-upload-url (or BOX_UPLOAD_URL) "ftp://upload.box.example": ${use}`);
    expect(requests).toBe(0);
  }, 120_000); // two CLI processes, one after another

  it('a local endpoint nothing listens on is said at once, naming the option (exit 2), instead of minutes of retries', async () => {
    // A port nothing listens on: taken from the system, then given back.
    const spare = http.createServer();
    await new Promise<void>((resolve) => spare.listen(0, '127.0.0.1', resolve));
    const closed = `http://127.0.0.1:${(spare.address() as AddressInfo).port}`;
    await new Promise<void>((resolve) => spare.close(() => resolve()));
    const aws = { AWS_ACCESS_KEY_ID: 'x', AWS_SECRET_ACCESS_KEY: 'x', AWS_EC2_METADATA_DISABLED: 'true', BOX_DEVELOPER_TOKEN: 'unused-token' };
    const [s3, box, sync, both] = (await inTurn([
      () => cli(['transfer', 's3://b/k.bin', '--folder', '0', '--s3-endpoint', closed, '--box-api-url', counting, '--box-upload-url', `${counting}/api`], aws),
      () => cli(['transfer', 's3://b/k.bin', '--folder', '0', '--s3-endpoint', counting, '--box-api-url', counting, '--box-upload-url', `${closed}/api`, '--json'], aws),
      () => cli(['sync', 's3://b/p/', '--folder', '0', '--report', 's3://r/', '--s3-endpoint', closed, '--box-api-url', counting, '--box-upload-url', `${counting}/api`], aws),
      () => cli(['transfer', 's3://b/k.bin', '--folder', '0', '--s3-endpoint', closed, '--box-api-url', closed, '--box-upload-url', `${counting}/api`], aws),
    ], 1)) as [CliRun, CliRun, CliRun, CliRun];
    const refused = (option: string, url: string) => `${option} ${url}: nothing accepts connections on ${url.replace('http://', '').replace(/\/.*$/, '')} (ECONNREFUSED)`;
    expect(s3.code, s3.stderr).toBe(2);
    expect(s3.stderr.trim()).toBe(`Transfer failed: Transfer.ConfigurationError: ${refused('--s3-endpoint', closed)}; start the server or correct the URL`);
    expect(box.code, box.stderr).toBe(2);
    expect(JSON.parse(box.stdout)).toEqual({ error: { name: 'Transfer.ConfigurationError', message: expect.stringContaining(refused('--box-upload-url', `${closed}/api`)) as unknown }, resumable: false });
    expect(sync.code, sync.stderr).toBe(2);
    expect(sync.stderr).toContain(`Sync failed: Transfer.ConfigurationError: ${refused('--s3-endpoint', closed)}`);
    // Every endpoint refused is named, not only the first.
    expect(both.code, both.stderr).toBe(2);
    expect(both.stderr.trim()).toBe(`Transfer failed: Transfer.ConfigurationError: ${refused('--s3-endpoint', closed)}; ${refused('--box-api-url', closed)}; start the servers or correct the URLs`);
    // The endpoints that do listen were connected to, never sent a request.
    expect(requests).toBe(0);
  }, 120_000); // four CLI processes, one after another
});
