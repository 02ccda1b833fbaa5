// What a Lambda container (or the CLI, or the local runner) loads only when it needs it:
// - Powertools Tracer, and with it the X-Ray SDK, whose cls-hooked context installs async hooks that slow
//   every promise of the process: imported by the first invocation, and only where tracing runs (in Lambda,
//   POWERTOOLS_TRACE_ENABLED not "false"), in the TypeScript source and in the esbuild bundle alike;
// - Powertools Parameters and the Secrets Manager client: only when BOX_SECRET_ARN names a secret.
// Each case runs in a fresh Node process (test/functions/lazy-load-child.mjs), which reports the modules
// it loaded and whether the X-Ray context exists.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { BuildOptions } from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serverlessConfig } from '../../bench/bundles.ts';
import { LazyTracer, tracingRuns } from '../../functions/observability.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const CHILD = fileURLToPath(new URL('./lazy-load-child.mjs', import.meta.url));

interface Seen {
  xrayContext: boolean;
  tracerModule: boolean;
  secretsModule: boolean;
}
interface Report {
  afterImport: Seen;
  afterInvocation: Seen & { boxBuilt: boolean; secretRequests: number };
}

/** Environment of a child: nothing from this machine's AWS configuration, no real endpoints. */
const BASE_ENV = {
  PATH: process.env.PATH ?? '',
  HOME: os.tmpdir(),
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'AKIDLAZYLOAD',
  AWS_SECRET_ACCESS_KEY: 'lazy-load-secret',
  AWS_CONFIG_FILE: '/nonexistent',
  AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
  POWERTOOLS_LOG_LEVEL: 'ERROR',
  AWS_LAMBDA_FUNCTION_NAME: 's3-to-box-dev-describeFailure',
};
/** What Lambda sets when active tracing is on (serverless.yml: tracing.lambda); the X-Ray daemon address leads nowhere. */
const TRACING_ENV = {
  AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
  _X_AMZN_TRACE_ID: 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1',
  AWS_XRAY_DAEMON_ADDRESS: '127.0.0.1:9',
  AWS_XRAY_CONTEXT_MISSING: 'IGNORE_ERROR',
};

function runChild(modulePath: string, env: Record<string, string>, mode?: 'secret'): Promise<Report> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', CHILD, modulePath, ...(mode ? [mode] : [])], {
      env: { ...BASE_ENV, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== 0) return reject(new Error(`child exited with ${code}: ${err.slice(-2000)}`));
      try {
        resolve(JSON.parse(out.trim().split('\n').pop() ?? '') as Report);
      } catch {
        reject(new Error(`no report from the child: ${out.slice(-1000)} ${err.slice(-1000)}`));
      }
    });
  });
}

describe('tracingRuns: where X-Ray tracing runs (Powertools Tracer\'s rule)', () => {
  it('only in a Lambda execution environment, unless turned off', () => {
    expect(tracingRuns({})).toBe(false);
    expect(tracingRuns({ AWS_LAMBDA_FUNCTION_NAME: 'f' })).toBe(false);
    expect(tracingRuns({ AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x' })).toBe(true);
    expect(tracingRuns({ AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x', POWERTOOLS_TRACE_ENABLED: 'false' })).toBe(false);
    expect(tracingRuns({ AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x', POWERTOOLS_TRACE_ENABLED: 'FALSE' })).toBe(false);
    expect(tracingRuns({ AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x', POWERTOOLS_TRACE_ENABLED: 'true' })).toBe(true);
    expect(tracingRuns({ AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x', AWS_SAM_LOCAL: 'true' })).toBe(false);
    expect(tracingRuns({ AWS_EXECUTION_ENV: 'AWS_Lambda_amplify-mock' })).toBe(false);
  });

  it('a disabled LazyTracer loads nothing and leaves clients as they are', async () => {
    const tracer = new LazyTracer(false, 's3-to-box');
    const client = { middlewareStack: { use: () => expect.fail('a disabled tracer must not touch the client') } };
    expect(tracer.captureAWSv3Client(client)).toBe(client);
    expect(await tracer.load()).toBeUndefined();
    expect(tracer.tracer).toBeUndefined();
    tracer.putAnnotation('task', 'Prepare'); // no tracer: nothing to annotate, no error
  });
});

describe('the TypeScript handlers', () => {
  const describeFailure = path.join(ROOT, 'functions/describeFailure.ts');
  const deps = path.join(ROOT, 'functions/deps.ts');

  it('outside Lambda (the CLI, the local runner): no Tracer, no X-Ray context, no Secrets Manager client, before or after an invocation', async () => {
    const r = await runChild(describeFailure, { BOX_DEVELOPER_TOKEN: 'token' });
    expect(r.afterImport).toEqual({ xrayContext: false, tracerModule: false, secretsModule: false });
    expect(r.afterInvocation).toMatchObject({ xrayContext: false, tracerModule: false, secretsModule: false });
  });

  it('in Lambda with tracing on: the Tracer is imported by the first invocation, not by the import', async () => {
    const r = await runChild(describeFailure, { ...TRACING_ENV, BOX_DEVELOPER_TOKEN: 'token' });
    expect(r.afterImport).toEqual({ xrayContext: false, tracerModule: false, secretsModule: false });
    expect(r.afterInvocation).toMatchObject({ xrayContext: true, tracerModule: true, secretsModule: false });
  });

  it('in Lambda with POWERTOOLS_TRACE_ENABLED=false: never', async () => {
    const r = await runChild(describeFailure, { ...TRACING_ENV, POWERTOOLS_TRACE_ENABLED: 'false', BOX_DEVELOPER_TOKEN: 'token' });
    expect(r.afterInvocation).toMatchObject({ xrayContext: false, tracerModule: false });
  });

  it('the Secrets Manager client is loaded when BOX_SECRET_ARN names a secret, and the Box client is built from it', async () => {
    const r = await runChild(deps, { BOX_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:box-AbCdEf' }, 'secret');
    expect(r.afterImport.secretsModule).toBe(false);
    expect(r.afterInvocation).toMatchObject({ secretsModule: true, boxBuilt: true, secretRequests: 1 });
  });

  it('with BOX_* variables the Box client is built without it', async () => {
    const r = await runChild(deps, { BOX_DEVELOPER_TOKEN: 'token' });
    expect(r.afterInvocation).toMatchObject({ secretsModule: false, boxBuilt: true, secretRequests: 0 });
  });
});

describe('the bundle serverless.yml builds (esbuild, minified)', () => {
  let dir: string;
  let bundle: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 's3-to-box-lazy-load-'));
    // The options serverless-esbuild passes to esbuild: custom.esbuild without the plugin's own keys.
    const config = await serverlessConfig();
    const { exclude: _exclude, outputFileExtension: _ext, packager: _packager, ...options } = config.custom.esbuild;
    bundle = path.join(dir, 'describeFailure.mjs');
    await build({ ...(options as BuildOptions), entryPoints: [path.join(ROOT, 'functions/describeFailure.ts')], outfile: bundle, logLevel: 'silent' });
  }, 60_000);
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('holds the Tracer, but evaluates it only on an invocation where tracing runs', async () => {
    expect(await readFile(bundle, 'utf8')).toContain('XRaySDKInstrumentation');
    const off = await runChild(bundle, { BOX_DEVELOPER_TOKEN: 'token' });
    expect(off.afterInvocation).toMatchObject({ xrayContext: false });
    const on = await runChild(bundle, { ...TRACING_ENV, BOX_DEVELOPER_TOKEN: 'token' });
    expect(on.afterImport.xrayContext).toBe(false);
    expect(on.afterInvocation.xrayContext).toBe(true);
  });
});
