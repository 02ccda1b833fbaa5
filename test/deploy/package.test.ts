// SLOW TEST (about 15-40 s on 2 cores): runs the real `osls package` (serverless-esbuild bundles the
// Lambdas, serverless-step-functions validates and compiles the state machine) on a temporary
// copy of the project, offline: no AWS credentials, no ~/.aws, and every outgoing connection or DNS
// lookup refused and recorded by test/deploy/no-network.mjs. It then checks the CloudFormation
// template and loads the bundled handlers from the zips under Node 22, as Lambda would.
import { execFile } from 'node:child_process';
import { cp, mkdir, mkdtemp, readdir, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { load } from 'js-yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { evaluate } from './cfn.ts';
import type { EvalContext } from './cfn.ts';
import { readZip } from './zip.ts';
import { lambdaCommand, runtimeNodeOptions } from '../../local/lambda/runtime.ts';
import { METRIC, SERVICE_NAME } from '../../functions/observability.ts';
import { GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { startBoxEmulator } from '../../local/box-emulator/index.ts';
import { putGeneratedObject, startLocalS3 } from '../../local/runner/index.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const NODE22 = path.join(REPO, 'node_modules/.bin/node');
const OSLS = path.join(REPO, 'node_modules/.bin/osls');
const GUARD = fileURLToPath(new URL('./no-network.mjs', import.meta.url));

const STAGE = 'ci';
const REGION = 'eu-west-1';
const PSEUDO = { 'AWS::Partition': 'aws', 'AWS::Region': REGION, 'AWS::AccountId': '123456789012' };

/** What serverless.yml promises, per function key: memory, timeout, and the Task state that calls it. */
const FUNCTIONS = {
  prepare: { memory: 512, timeout: 110, state: 'Prepare' },
  directUpload: { memory: 1024, timeout: 300, state: 'DirectUpload' },
  uploadBatch: { memory: 3008, timeout: 900, state: 'UploadBatch' },
  hashObject: { memory: 1769, timeout: 900, state: 'HashObject' },
  commit: { memory: 512, timeout: 240, state: 'Commit' },
  abortSession: { memory: 256, timeout: 30, state: 'AbortSession' },
  describeFailure: { memory: 256, timeout: 10, state: 'DescribeFailure' },
} as const;
type FunctionKey = keyof typeof FUNCTIONS;
const KEYS = Object.keys(FUNCTIONS) as FunctionKey[];
/** The trigger Lambda: not a Task of the state machine, its own role. */
const TRIGGER = 'startTransfer';
/** The bulk state machine's Lambdas: memory, timeout, and the Task states (one per reader) that call them. */
const BULK = {
  planSync: { memory: 512, timeout: 60, states: ['PlanSync'] },
  syncBatch: { memory: 1024, timeout: 900, states: ['PrefixSyncBatch', 'InventorySyncBatch', 'JsonlSyncBatch', 'CsvSyncBatch'] },
  finishBatch: { memory: 256, timeout: 120, states: ['PrefixFinishBatch', 'InventoryFinishBatch', 'JsonlFinishBatch', 'CsvFinishBatch'] },
  summarizeSync: { memory: 1024, timeout: 840, states: ['Summarize', 'SummarizeFailedRun'] },
} as const;
type BulkKey = keyof typeof BULK;
const BULK_KEYS = Object.keys(BULK) as BulkKey[];
/** Run by EventBridge when an execution is stopped: not a Task of the state machine, its own role. */
const STOP = 'abortOnStop';
/** The status API's Lambda: its own role. */
const STATUS = 'transferStatus';
const ALL_KEYS = [...KEYS, TRIGGER, ...BULK_KEYS, STOP, STATUS];
/** The Lambdas that move an object's bytes: Lambda starts their Node through this script of their zip. */
const EXEC_WRAPPER = 'functions/exec-wrapper.sh';
const WRAPPED: ReadonlySet<string> = new Set(['directUpload', 'uploadBatch', 'hashObject', 'syncBatch']);
const wrapperEnv = (key: string): Record<string, string> => (WRAPPED.has(key) ? { AWS_LAMBDA_EXEC_WRAPPER: `/var/task/${EXEC_WRAPPER}` } : {});
const logicalId = (key: string): string => `${key[0]?.toUpperCase()}${key.slice(1)}LambdaFunction`;
/** The sources the package is built for (the sourceBuckets parameter is required). */
const SOURCE_BUCKETS = 'exports,backups/finance/';

/**
 * Every function's role, action by action: what it may call, on which resources (evaluated). A function
 * missing here fails the test: give a new function its own role in serverless.yml and a row here.
 */
type Access = Record<string, string[]>;
const ownLogs = (key: string): Access => {
  const group = `GetAtt:${key[0]?.toUpperCase()}${key.slice(1)}LogGroup.Arn`;
  return { 'logs:CreateLogStream': [group], 'logs:PutLogEvents': [group] };
};
const TRACING: Access = { 'xray:PutTraceSegments': ['*'], 'xray:PutTelemetryRecords': ['*'] };
const SOURCE_ARNS = ['arn:aws:s3:::backups/finance/*', 'arn:aws:s3:::exports/*'];
const READ_SOURCES: Access = { 's3:GetObject': SOURCE_ARNS, 's3:GetObjectVersion': SOURCE_ARNS };
const BOX_SECRET: Access = { 'secretsmanager:GetSecretValue': [`arn:aws:secretsmanager:${REGION}:123456789012:secret:s3-to-box/${STAGE}/box-??????`] };
const ACCESS: Record<string, Access> = {
  prepare: { ...ownLogs('prepare'), ...TRACING, ...READ_SOURCES, ...BOX_SECRET },
  directUpload: { ...ownLogs('directUpload'), ...TRACING, ...READ_SOURCES, ...BOX_SECRET },
  uploadBatch: { ...ownLogs('uploadBatch'), ...TRACING, ...READ_SOURCES, ...BOX_SECRET },
  hashObject: { ...ownLogs('hashObject'), ...TRACING, ...READ_SOURCES }, // never calls Box
  commit: { ...ownLogs('commit'), ...TRACING, ...READ_SOURCES, ...BOX_SECRET }, // HeadObject: newest write wins
  abortSession: { ...ownLogs('abortSession'), ...TRACING, ...BOX_SECRET }, // never reads S3
  describeFailure: { ...ownLogs('describeFailure'), ...TRACING }, // pure: reads nothing, calls nothing
  abortOnStop: {
    ...ownLogs('abortOnStop'),
    ...TRACING,
    ...BOX_SECRET,
    'states:GetExecutionHistory': [`arn:aws:states:${REGION}:123456789012:execution:s3-to-box-${STAGE}:*`],
    // A nested transfer's parent, a bulk run's child workflow: a transfer its parent's end stopped keeps its session.
    'states:DescribeExecution': [`arn:aws:states:${REGION}:123456789012:execution:s3-to-box-bulk-${STAGE}/*`],
  },
  // Checks the destination folder in Box, and the start of a manifest: from the allowed sources or the report buckets (none given).
  planSync: { ...ownLogs('planSync'), ...TRACING, ...BOX_SECRET, 's3:GetObject': ['arn:aws:s3:::/*', ...SOURCE_ARNS].sort() },
  syncBatch: { ...ownLogs('syncBatch'), ...TRACING, ...READ_SOURCES, ...BOX_SECRET },
  finishBatch: { ...ownLogs('finishBatch'), ...TRACING, ...BOX_SECRET }, // records source identities on Box files
  // The report buckets (none given here): results read, report written (multipart), a failed run's results listed.
  summarizeSync: {
    ...ownLogs('summarizeSync'),
    ...TRACING,
    's3:GetObject': ['arn:aws:s3:::/*'],
    's3:PutObject': ['arn:aws:s3:::/*'],
    's3:AbortMultipartUpload': ['arn:aws:s3:::/*'],
    's3:ListBucket': ['arn:aws:s3:::'],
    // The nested transfers a stopped child left: the session each kept, for its report line.
    'states:DescribeExecution': [`arn:aws:states:${REGION}:123456789012:execution:s3-to-box-${STAGE}:*`],
    'states:GetExecutionHistory': [`arn:aws:states:${REGION}:123456789012:execution:s3-to-box-${STAGE}:*`],
  },
  transferStatus: {
    ...ownLogs('transferStatus'),
    ...TRACING,
    ...BOX_SECRET, // parts stored of a running transfer (Box's list parts)
    // Transfers and bulk runs (POST /transfers returns a statusUrl for both).
    'states:ListExecutions': ['Ref:BulkStateMachine', 'Ref:TransferStateMachine'],
    'states:DescribeExecution': [`arn:aws:states:${REGION}:123456789012:execution:s3-to-box-${STAGE}:*`, `arn:aws:states:${REGION}:123456789012:execution:s3-to-box-bulk-${STAGE}:*`].sort(),
    'states:GetExecutionHistory': [`arn:aws:states:${REGION}:123456789012:execution:s3-to-box-${STAGE}:*`, `arn:aws:states:${REGION}:123456789012:execution:s3-to-box-bulk-${STAGE}:*`].sort(),
    // A running bulk run's counts: its Map Run, found from the execution.
    'states:ListMapRuns': [`arn:aws:states:${REGION}:123456789012:execution:s3-to-box-bulk-${STAGE}:*`],
    'states:DescribeMapRun': [`arn:aws:states:${REGION}:123456789012:mapRun:s3-to-box-bulk-${STAGE}/*`],
  },
  startTransfer: {
    ...ownLogs('startTransfer'),
    ...TRACING,
    'states:StartExecution': ['Ref:BulkStateMachine', 'Ref:TransferStateMachine'], // POST /transfers: one object, or a bulk run
    'sqs:SendMessage': ['GetAtt:TriggerFailuresQueue.Arn'], // Lambda's on-failure destination uses the function's role
  },
};
/** What Step Functions needs for its logging and tracing configuration (AWS accepts only '*' for these). */
const MACHINE_LOGS_AND_TRACING: Access = Object.fromEntries(
  [
    'logs:CreateLogDelivery',
    'logs:GetLogDelivery',
    'logs:UpdateLogDelivery',
    'logs:DeleteLogDelivery',
    'logs:ListLogDeliveries',
    'logs:PutResourcePolicy',
    'logs:DescribeResourcePolicies',
    'logs:DescribeLogGroups',
    'xray:PutTraceSegments',
    'xray:PutTelemetryRecords',
    'xray:GetSamplingRules',
    'xray:GetSamplingTargets',
  ].map((a) => [a, ['*']]),
);
/** Every state machine's role, likewise. */
const MACHINE_ACCESS: Record<string, Access> = {
  TransferStateMachine: { 'lambda:InvokeFunction': KEYS.map((k) => `GetAtt:${logicalId(k)}.Arn`).sort(), ...MACHINE_LOGS_AND_TRACING },
  // Bulk runs: its Lambdas; Distributed Map children (itself) and nested transfers (startExecution.sync:
  // Describe/Stop and the managed rule); ItemReader on the allowed sources; manifests; ResultWriter.
  BulkStateMachine: {
    'lambda:InvokeFunction': BULK_KEYS.map((k) => `GetAtt:${logicalId(k)}.Arn`).sort(),
    'states:StartExecution': [`arn:aws:states:${REGION}:123456789012:stateMachine:s3-to-box-bulk-${STAGE}`, 'Ref:TransferStateMachine'].sort(),
    ...Object.fromEntries(
      ['states:DescribeExecution', 'states:StopExecution'].map((a) => [
        a,
        [
          `arn:aws:states:${REGION}:123456789012:execution:s3-to-box-bulk-${STAGE}:*`,
          `arn:aws:states:${REGION}:123456789012:execution:s3-to-box-bulk-${STAGE}/*`,
          `arn:aws:states:${REGION}:123456789012:execution:s3-to-box-${STAGE}:*`,
        ].sort(),
      ]),
    ),
    ...Object.fromEntries(
      ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'].map((a) => [
        a,
        [`arn:aws:events:${REGION}:123456789012:rule/StepFunctionsGetEventsForStepFunctionsExecutionRule`],
      ]),
    ),
    's3:ListBucket': ['arn:aws:s3:::backups', 'arn:aws:s3:::exports'],
    's3:GetObject': ['arn:aws:s3:::/*', ...SOURCE_ARNS].sort(), // manifests: allowed sources, report buckets (none given)
    's3:PutObject': ['arn:aws:s3:::/*'], // ResultWriter: the report buckets (none given)
    ...MACHINE_LOGS_AND_TRACING,
  },
};

// Copied to the temporary service folder: everything but these (node_modules is linked).
const NOT_COPIED = new Set(['node_modules', '.git', 'tmp', '.serverless', '.esbuild', 'coverage']);

/* eslint-disable @typescript-eslint/no-explicit-any -- CloudFormation JSON is walked untyped */
type Template = { Resources: Record<string, any>; Outputs: Record<string, any>; Conditions?: Record<string, unknown> };

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(file: string, args: string[], opts: { cwd: string; env: NodeJS.ProcessEnv; timeout: number }): Promise<Run> {
  return new Promise((resolve) => {
    execFile(file, args, { ...opts, maxBuffer: 32 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

let tmp: string;
/** What the packager left in its TMPDIR (the test's folder, not the machine's /tmp). */
let packagerTemp: string[];
let service: string;
let artifacts: string;
let netLog: string;
let template: Template;
let ctx: EvalContext;
let packaged: Run;

/** A role's grants, evaluated: action -> sorted resources. Only plain Allow statements are expected. */
function accessOf(roleId: string): Access {
  const role = template.Resources[roleId];
  expect(role?.Type, `${roleId} is an IAM role`).toBe('AWS::IAM::Role');
  expect(role.Properties.ManagedPolicyArns, `${roleId} has no managed policies`).toBeUndefined();
  const statements = evaluate(role.Properties.Policies.flatMap((pol: any) => pol.PolicyDocument.Statement), ctx) as Record<string, unknown>[];
  const access: Access = {};
  for (const s of statements) {
    // A Condition only narrows a grant (the bulk machine's listing of a prefix, asserted where it is made).
    const { Condition, ...plain } = s;
    expect(Object.keys(plain).sort(), `${roleId}: only Effect, Action and Resource`).toEqual(['Action', 'Effect', 'Resource']);
    if (Condition !== undefined) expect({ roleId, condition: Object.keys(Condition as object) }).toEqual({ roleId: 'BulkMachineRole', condition: ['StringLike'] });
    expect(s.Effect).toBe('Allow');
    for (const action of [s.Action].flat() as string[]) {
      access[action] = [...new Set([...(access[action] ?? []), ...([s.Resource].flat() as string[])])].sort();
    }
  }
  return access;
}

/** The environment of every child: no AWS credentials or config, a fresh HOME, the network guard. */
function offlineEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('AWS_') || k.startsWith('SLS_') || k.startsWith('SERVERLESS_') || k === 'NODE_OPTIONS') continue;
    if (k.startsWith('BOX_') || k.startsWith('TRANSFER_') || k === 'LOG_LEVEL') continue;
    env[k] = v;
  }
  return {
    ...env,
    HOME: path.join(tmp, 'home'),
    AWS_CONFIG_FILE: path.join(tmp, 'home/no-aws-config'),
    AWS_SHARED_CREDENTIALS_FILE: path.join(tmp, 'home/no-aws-credentials'),
    AWS_EC2_METADATA_DISABLED: 'true',
    // `#!/usr/bin/env node` in node_modules/.bin scripts must find Node 22, not the machine's.
    PATH: `${path.join(REPO, 'node_modules/.bin')}${path.delimiter}${process.env.PATH ?? ''}`,
    NODE_OPTIONS: `--import=${pathToFileURL(GUARD).href}`,
    NO_NETWORK_LOG: netLog,
    // serverless-esbuild stages each function in os.tmpdir()/<function>-<pid>-<time>-<random>/ and never
    // removes it: inside the test's folder, afterAll removes them.
    TMPDIR: path.join(tmp, 'tmpdir'),
    ...extra,
  };
}

function osls(args: string[]): Promise<Run> {
  return run(NODE22, [OSLS, ...args, '--stage', STAGE, '--region', REGION], {
    cwd: service,
    env: offlineEnv(),
    timeout: 240_000,
  });
}

beforeAll(async () => {
  tmp = await mkdtemp(path.join(os.tmpdir(), 's3-to-box-deploy-'));
  service = path.join(tmp, 'service');
  artifacts = path.join(tmp, 'artifacts');
  netLog = path.join(tmp, 'network-attempts.log');
  await mkdir(path.join(tmp, 'home'), { recursive: true });
  await mkdir(path.join(tmp, 'tmpdir'));
  await writeFile(netLog, '');
  await mkdir(service);
  for (const entry of await readdir(REPO)) {
    if (!NOT_COPIED.has(entry)) await cp(path.join(REPO, entry), path.join(service, entry), { recursive: true });
  }
  await symlink(path.join(REPO, 'node_modules'), path.join(service, 'node_modules'), 'dir');

  packaged = await osls(['package', '--package', artifacts, `--param=sourceBuckets=${SOURCE_BUCKETS}`]);
  if (packaged.code !== 0) throw new Error(`osls package failed (${packaged.code}):\n${packaged.stdout}\n${packaged.stderr}`);
  packagerTemp = await readdir(path.join(tmp, 'tmpdir'));
  template = JSON.parse(await readFile(path.join(artifacts, 'cloudformation-template-update-stack.json'), 'utf8')) as Template;
  ctx = { pseudo: PSEUDO, conditions: template.Conditions ?? {} };
}, 300_000);

afterAll(async () => {
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

describe('osls package (slow: real packaging of serverless.yml, offline)', () => {
  it('packages without credentials and without any network attempt', async () => {
    expect(packaged.stdout + packaged.stderr).toContain('State machine "transfer" definition is valid');
    expect(packaged.stdout + packaged.stderr).toContain('Service packaged');
    expect(await readFile(netLog, 'utf8')).toBe('');
    const files = await readdir(artifacts);
    expect(files).toEqual(expect.arrayContaining(['cloudformation-template-update-stack.json', ...ALL_KEYS.map((k) => `${k}.zip`)]));
  });

  it('declares the task Lambdas on nodejs22.x / arm64 with their memory, timeouts and environment', () => {
    const functions = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::Lambda::Function');
    expect(functions.map(([id]) => id).sort()).toEqual(ALL_KEYS.map(logicalId).sort());
    for (const key of KEYS) {
      const p = template.Resources[logicalId(key)].Properties;
      expect(p.FunctionName).toBe(`s3-to-box-${STAGE}-${key}`);
      expect(p.Handler).toBe(`functions/${key}.handler`);
      expect(p.Runtime).toBe('nodejs22.x');
      expect(p.Architectures).toEqual(['arm64']);
      expect({ key, memory: p.MemorySize, timeout: p.Timeout }).toEqual({
        key,
        memory: FUNCTIONS[key].memory,
        timeout: FUNCTIONS[key].timeout,
      });
      expect(p.Code.S3Key).toMatch(new RegExp(`/${key}\\.zip$`));
      const env = evaluate(p.Environment.Variables, ctx) as Record<string, string>;
      // No boxSecretArn given: the secret named by convention in the deployment's account and region.
      expect(env).toEqual({
        BOX_SECRET_ARN: `s3-to-box/${STAGE}/box`,
        BOX_API_URL: '',
        BOX_UPLOAD_URL: '',
        LOG_LEVEL: 'info',
        // Prepare decides what is read and where it goes (for bulk runs, PlanSync and SyncBatch: below).
        ...(key === 'prepare' ? { TRANSFER_SOURCES: SOURCE_BUCKETS, TRANSFER_DESTINATION_FOLDERS: '', TRANSFER_MAX_FILE_SIZE: '536870912000' } : {}),
        ...wrapperEnv(key),
        // The CPU-bound whole-file hash runs without the X-Ray SDK (its async hooks cost CPU per GiB).
        ...(key === 'hashObject' ? { POWERTOOLS_TRACE_ENABLED: 'false' } : {}),
      });
      expect(p.Role).toEqual({ 'Fn::GetAtt': [`${logicalId(key).replace(/LambdaFunction$/, '')}Role`, 'Arn'] });
    }
  });

  it('declares startTransfer: small, its own role, STATE_MACHINE_ARN and TRANSFER_ROUTES', () => {
    const p = template.Resources.StartTransferLambdaFunction.Properties;
    expect(p.FunctionName).toBe(`s3-to-box-${STAGE}-startTransfer`);
    expect(p.Handler).toBe('functions/startTransfer.handler');
    expect([p.Runtime, p.Architectures, p.MemorySize, p.Timeout]).toEqual(['nodejs22.x', ['arm64'], 256, 15]);
    expect(p.Role).toEqual({ 'Fn::GetAtt': ['StartTransferRole', 'Arn'] });
    const env = evaluate(p.Environment.Variables, ctx) as Record<string, string>;
    expect(env).toMatchObject({ STATE_MACHINE_ARN: 'Ref:TransferStateMachine', BULK_STATE_MACHINE_ARN: 'Ref:BulkStateMachine', TRANSFER_ROUTES: '[]', LOG_LEVEL: 'info' });
    expect(template.Resources.StartTransferLogGroup.Properties).toEqual({ LogGroupName: `/aws/lambda/s3-to-box-${STAGE}-startTransfer`, RetentionInDays: 30 });
  });

  it('gives every function a role of its own, allowed exactly the actions and resources it uses', () => {
    const roleOf = new Map<string, string>();
    for (const [id, r] of Object.entries(template.Resources)) {
      if (r.Type !== 'AWS::Lambda::Function') continue;
      const key = String(r.Properties.FunctionName).replace(`s3-to-box-${STAGE}-`, '');
      expect(ACCESS, `${id}: give it its own role and a row in ACCESS`).toHaveProperty(key);
      const roleId = r.Properties.Role?.['Fn::GetAtt']?.[0] as string;
      expect([...roleOf.values()], `${key} shares a role`).not.toContain(roleId);
      roleOf.set(key, roleId);
      expect({ key, access: accessOf(roleId) }).toEqual({ key, access: ACCESS[key] });
    }
    expect([...roleOf.keys()].sort()).toEqual(Object.keys(ACCESS).sort());
    // No provider-wide role that a function without its own would fall back to.
    expect(template.Resources.IamRoleLambdaExecution).toBeUndefined();
  });

  it('gives every state machine an explicit role: it invokes its own Lambdas, nothing else (no plugin-made grants)', () => {
    const machines = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::StepFunctions::StateMachine');
    expect(machines.map(([id]) => id).sort()).toEqual(Object.keys(MACHINE_ACCESS).sort());
    const machineRoles: string[] = [];
    for (const [id, r] of machines) {
      const roleId = r.Properties.RoleArn?.['Fn::GetAtt']?.[0] as string;
      expect(roleId, `${id} must name its role`).toMatch(/Role$/);
      expect(roleId).not.toBe(`${id}Role`); // the name serverless-step-functions gives the role it generates
      machineRoles.push(roleId);
      expect({ id, access: accessOf(roleId) }).toEqual({ id, access: MACHINE_ACCESS[id] });
      expect(template.Resources[roleId].Properties.AssumeRolePolicyDocument.Statement).toEqual([
        { Effect: 'Allow', Principal: { Service: 'states.amazonaws.com' }, Action: 'sts:AssumeRole', Condition: { StringEquals: { 'aws:SourceAccount': { Ref: 'AWS::AccountId' } } } },
      ]);
    }
    // No role, policy or managed policy besides these.
    const lambdaRoles = Object.values(template.Resources)
      .filter((r) => r.Type === 'AWS::Lambda::Function')
      .map((r) => r.Properties.Role['Fn::GetAtt'][0] as string);
    const iam = Object.entries(template.Resources).filter(([, r]) => String(r.Type).startsWith('AWS::IAM::'));
    expect(iam.map(([id]) => id).sort()).toEqual([...lambdaRoles, ...machineRoles].sort());
  });

  it('keeps every HTTP API route IAM-only and throttles the stage (default route settings)', () => {
    const routes = Object.values(template.Resources).filter((r) => r.Type === 'AWS::ApiGatewayV2::Route');
    expect(routes.length).toBeGreaterThan(0);
    for (const route of routes) expect([route.Properties.RouteKey, route.Properties.AuthorizationType]).toEqual([route.Properties.RouteKey, 'AWS_IAM']);
    const stages = Object.values(template.Resources).filter((r) => r.Type === 'AWS::ApiGatewayV2::Stage');
    expect(stages).toHaveLength(1);
    expect(stages[0].Properties.DefaultRouteSettings).toEqual({ DetailedMetricsEnabled: false, ThrottlingRateLimit: 10, ThrottlingBurstLimit: 20 });
  });

  it('routes POST /transfers to startTransfer and GET /transfers(/{name}) to transferStatus, all with IAM authorization (payload 2.0)', () => {
    const routes = Object.values(template.Resources).filter((r) => r.Type === 'AWS::ApiGatewayV2::Route');
    const byKey = new Map(routes.map((r) => [r.Properties.RouteKey as string, r.Properties]));
    expect([...byKey.keys()].sort()).toEqual(['GET /transfers', 'GET /transfers/{name}', 'POST /transfers']);
    const target = (routeKey: string): unknown => {
      const route = byKey.get(routeKey);
      expect(route.AuthorizationType).toBe('AWS_IAM');
      const integrationId = evaluate(route.Target, ctx) as string;
      const integration = template.Resources[integrationId.replace(/^integrations\/Ref:/, '')].Properties;
      expect(integration).toMatchObject({ IntegrationType: 'AWS_PROXY', PayloadFormatVersion: '2.0' });
      return integration.IntegrationUri;
    };
    expect(target('POST /transfers')).toEqual({ 'Fn::GetAtt': ['StartTransferLambdaFunction', 'Arn'] });
    expect(target('GET /transfers')).toEqual({ 'Fn::GetAtt': ['TransferStatusLambdaFunction', 'Arn'] });
    expect(target('GET /transfers/{name}')).toEqual({ 'Fn::GetAtt': ['TransferStatusLambdaFunction', 'Arn'] });
    const permissions = Object.values(template.Resources).filter((r) => r.Type === 'AWS::Lambda::Permission' && r.Properties.Principal === 'apigateway.amazonaws.com');
    expect(permissions.map((r) => r.Properties.FunctionName['Fn::GetAtt'][0]).sort()).toEqual(['StartTransferLambdaFunction', 'TransferStatusLambdaFunction']);
    expect(template.Outputs.TransfersEndpoint.Value).toEqual({ 'Fn::Sub': 'https://${HttpApi}.execute-api.${AWS::Region}.${AWS::URLSuffix}/transfers' });
  });

  it("gives transferStatus a role of its own: DescribeExecution, ListExecutions, GetExecutionHistory (transfers and bulk runs), the bulk runs' map runs and the Box secret only", () => {
    const p = template.Resources.TransferStatusLambdaFunction.Properties;
    expect(p.Role).toEqual({ 'Fn::GetAtt': ['TransferStatusRole', 'Arn'] });
    // Both machines: the statusUrl of a bulk run and GET /transfers?kind=bulk need the bulk one.
    expect(evaluate(p.Environment.Variables, ctx)).toMatchObject({ STATE_MACHINE_ARN: 'Ref:TransferStateMachine', BULK_STATE_MACHINE_ARN: 'Ref:BulkStateMachine' });
    const role = template.Resources.TransferStatusRole;
    expect(role.Properties.ManagedPolicyArns).toBeUndefined();
    const statements = evaluate(role.Properties.Policies.flatMap((pol: any) => pol.PolicyDocument.Statement), ctx) as { Effect: string; Action: string[]; Resource: unknown }[];
    expect(statements.every((s) => s.Effect === 'Allow')).toBe(true);
    const actions = statements.flatMap((s) => s.Action).filter((a) => !/^(logs|xray):/.test(a));
    expect(actions.sort()).toEqual(['secretsmanager:GetSecretValue', 'states:DescribeExecution', 'states:DescribeMapRun', 'states:GetExecutionHistory', 'states:ListExecutions', 'states:ListMapRuns']);
    expect(statements.find((s) => s.Action.includes('states:ListExecutions'))?.Resource).toEqual(['Ref:TransferStateMachine', 'Ref:BulkStateMachine']);
    const executions = [`arn:aws:states:${REGION}:123456789012:execution:s3-to-box-${STAGE}:*`, `arn:aws:states:${REGION}:123456789012:execution:s3-to-box-bulk-${STAGE}:*`];
    expect(statements.find((s) => s.Action.includes('states:DescribeExecution'))?.Resource).toEqual(executions);
    expect(statements.find((s) => s.Action.includes('states:GetExecutionHistory'))?.Resource).toEqual(executions);
    expect(statements.find((s) => s.Action.includes('states:ListMapRuns'))?.Resource).toBe(`arn:aws:states:${REGION}:123456789012:execution:s3-to-box-bulk-${STAGE}:*`);
    expect(statements.find((s) => s.Action.includes('states:DescribeMapRun'))?.Resource).toBe(`arn:aws:states:${REGION}:123456789012:mapRun:s3-to-box-bulk-${STAGE}/*`);
    expect(statements.find((s) => s.Action.includes('secretsmanager:GetSecretValue'))?.Resource).toBe(`arn:aws:secretsmanager:${REGION}:123456789012:secret:s3-to-box/${STAGE}/box-??????`);
  });

  it('sends S3 Object Created events of the trigger buckets from EventBridge to startTransfer', () => {
    const rules = Object.values(template.Resources).filter((r) => r.Type === 'AWS::Events::Rule');
    expect(rules).toHaveLength(2); // this one and the stop rule (abortOnStop)
    const s3Rules = rules.filter((r) => JSON.stringify(r.Properties.Targets).includes('StartTransferLambdaFunction'));
    expect(s3Rules).toHaveLength(1);
    const rule = s3Rules[0].Properties;
    // Default triggerBuckets '' -> [''], a bucket name that never occurs: the rule matches nothing.
    expect(evaluate(rule.EventPattern, ctx)).toEqual({ source: ['aws.s3'], 'detail-type': ['Object Created'], detail: { bucket: { name: [''] } } });
    expect(rule.State).toBe('ENABLED');
    expect(rule.EventBusName).toBeUndefined(); // the default bus, where S3 sends its events
    expect(rule.Targets.map((t: any) => t.Arn)).toEqual([{ 'Fn::GetAtt': ['StartTransferLambdaFunction', 'Arn'] }]);
    const permission = Object.values(template.Resources).find(
      (r) => r.Type === 'AWS::Lambda::Permission' && r.Properties.Principal === 'events.amazonaws.com' && JSON.stringify(r.Properties.FunctionName).includes('StartTransfer'),
    );
    expect(permission?.Properties.FunctionName).toEqual({ 'Fn::GetAtt': ['StartTransferLambdaFunction', 'Arn'] });
    expect(evaluate(permission?.Properties.SourceArn, ctx)).toBe(`arn:aws:events:${REGION}:123456789012:rule/${rule.Name}`);
  });

  it("sends the transfer state machine's stopped executions (status ABORTED) from EventBridge to abortOnStop", () => {
    const rules = Object.values(template.Resources).filter((r) => r.Type === 'AWS::Events::Rule' && JSON.stringify(r.Properties.Targets).includes('AbortOnStopLambdaFunction'));
    expect(rules).toHaveLength(1);
    const rule = rules[0].Properties;
    expect(evaluate(rule.EventPattern, ctx)).toEqual({
      source: ['aws.states'],
      'detail-type': ['Step Functions Execution Status Change'],
      detail: { status: ['ABORTED'], stateMachineArn: ['Ref:TransferStateMachine'] },
    });
    expect(rule.State).toBe('ENABLED');
    expect(rule.EventBusName).toBeUndefined(); // the default bus, where Step Functions sends status changes
    expect(rule.Targets.map((t: any) => t.Arn)).toEqual([{ 'Fn::GetAtt': ['AbortOnStopLambdaFunction', 'Arn'] }]);
    const permission = Object.values(template.Resources).find(
      (r) => r.Type === 'AWS::Lambda::Permission' && r.Properties.Principal === 'events.amazonaws.com' && JSON.stringify(r.Properties.FunctionName).includes('AbortOnStop'),
    );
    expect(evaluate(permission?.Properties.SourceArn, ctx)).toBe(`arn:aws:events:${REGION}:123456789012:rule/${rule.Name}`);

    const p = template.Resources.AbortOnStopLambdaFunction.Properties;
    expect([p.Handler, p.Runtime, p.Architectures, p.MemorySize, p.Timeout]).toEqual(['functions/abortOnStop.handler', 'nodejs22.x', ['arm64'], 256, 60]);
    expect(p.Role).toEqual({ 'Fn::GetAtt': ['AbortOnStopRole', 'Arn'] });
  });

  it("sends startTransfer's failed asynchronous events to the on-failure queue, with an alarm on its depth", () => {
    const configs = Object.values(template.Resources).filter((r) => r.Type === 'AWS::Lambda::EventInvokeConfig');
    expect(configs).toHaveLength(1);
    const config = evaluate(configs[0].Properties, ctx) as Record<string, unknown>;
    expect(config).toMatchObject({
      FunctionName: 'Ref:StartTransferLambdaFunction',
      Qualifier: '$LATEST',
      MaximumRetryAttempts: 2,
      MaximumEventAgeInSeconds: 21600,
      DestinationConfig: { OnFailure: { Destination: 'GetAtt:TriggerFailuresQueue.Arn' } },
    });
    const queue = template.Resources.TriggerFailuresQueue;
    expect(queue.Type).toBe('AWS::SQS::Queue');
    expect(queue.Properties).toEqual({ QueueName: `s3-to-box-${STAGE}-trigger-failures`, MessageRetentionPeriod: 1209600, SqsManagedSseEnabled: true });
    const alarm = template.Resources.TriggerFailuresAlarm;
    expect(alarm.Type).toBe('AWS::CloudWatch::Alarm');
    expect(evaluate(alarm.Properties, ctx)).toMatchObject({
      Namespace: 'AWS/SQS',
      MetricName: 'ApproximateNumberOfMessagesVisible',
      Dimensions: [{ Name: 'QueueName', Value: 'GetAtt:TriggerFailuresQueue.QueueName' }],
      Threshold: 0,
      ComparisonOperator: 'GreaterThanThreshold',
    });
    expect(template.Outputs.TriggerFailuresQueueUrl.Value).toEqual({ Ref: 'TriggerFailuresQueue' });
  });

  it('compiles one STANDARD state machine whose Tasks call the right Lambdas, each with TimeoutSeconds above the Lambda timeout', async () => {
    const machines = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::StepFunctions::StateMachine');
    expect(machines.map(([id]) => id).sort()).toEqual(['BulkStateMachine', 'TransferStateMachine']);
    const p = template.Resources.TransferStateMachine.Properties;
    expect(p.StateMachineName).toBe(`s3-to-box-${STAGE}`);
    expect(p.StateMachineType).toBe('STANDARD');
    expect(p.TracingConfiguration).toEqual({ Enabled: true });
    expect(p.LoggingConfiguration).toEqual({
      Level: 'ERROR',
      IncludeExecutionData: false,
      Destinations: [{ CloudWatchLogsLogGroup: { LogGroupArn: { 'Fn::GetAtt': ['TransferStateMachineLogGroup', 'Arn'] } } }],
    });

    const definition = JSON.parse(evaluate(p.DefinitionString, ctx) as string) as { States: Record<string, any> };
    const tasks = new Map<string, any>();
    const names: string[] = [];
    const walk = (states: Record<string, any>): void => {
      for (const [name, state] of Object.entries(states)) {
        names.push(name);
        if (state.Type === 'Task') tasks.set(name, state);
        for (const branch of state.Branches ?? []) walk(branch.States);
        if (state.ItemProcessor) walk(state.ItemProcessor.States);
        if (state.Iterator) walk(state.Iterator.States);
      }
    };
    walk(definition.States);

    // The same states as statemachine/transfer.asl.yml, nothing lost or added in compilation.
    const source = load(await readFile(path.join(REPO, 'statemachine/transfer.asl.yml'), 'utf8')) as { States: Record<string, any> };
    const sourceNames: string[] = [];
    const walkSource = (states: Record<string, any>): void => {
      for (const [name, state] of Object.entries(states)) {
        sourceNames.push(name);
        for (const branch of state.Branches ?? []) walkSource(branch.States);
        if (state.ItemProcessor) walkSource(state.ItemProcessor.States);
      }
    };
    walkSource(source.States);
    expect(names.sort()).toEqual(sourceNames.sort());

    expect([...tasks.keys()].sort()).toEqual(KEYS.map((k) => FUNCTIONS[k].state).sort());
    for (const key of KEYS) {
      const task = tasks.get(FUNCTIONS[key].state);
      expect(task.Resource).toBe(`GetAtt:${logicalId(key)}.Arn`);
      const lambdaTimeout = template.Resources[logicalId(key)].Properties.Timeout as number;
      expect(task.TimeoutSeconds, `${FUNCTIONS[key].state} TimeoutSeconds vs ${key} Timeout`).toBeGreaterThan(lambdaTimeout);
    }
  });

  it('compiles the bulk state machine (STANDARD, its own role): Tasks call its Lambdas, nested runs start the transfer state machine', async () => {
    const p = template.Resources.BulkStateMachine.Properties;
    expect(p.StateMachineName).toBe(`s3-to-box-bulk-${STAGE}`);
    expect(p.StateMachineType).toBe('STANDARD');
    expect(p.RoleArn).toEqual({ 'Fn::GetAtt': ['BulkMachineRole', 'Arn'] });
    expect(p.LoggingConfiguration.IncludeExecutionData).toBe(false);
    const definition = JSON.parse(evaluate(p.DefinitionString, ctx) as string) as { States: Record<string, any> };
    const tasks = new Map<string, any>();
    const maps: any[] = [];
    const walk = (states: Record<string, any>): void => {
      for (const [name, state] of Object.entries(states)) {
        if (state.Type === 'Task') tasks.set(name, state);
        if (state.ItemProcessor) {
          if (state.ItemProcessor.ProcessorConfig?.Mode === 'DISTRIBUTED') maps.push(state);
          walk(state.ItemProcessor.States);
        }
      }
    };
    walk(definition.States);
    expect(maps).toHaveLength(4);
    for (const key of BULK_KEYS) {
      const lambdaTimeout = template.Resources[logicalId(key)].Properties.Timeout as number;
      expect(template.Resources[logicalId(key)].Properties.MemorySize).toBe(BULK[key].memory);
      expect(lambdaTimeout).toBe(BULK[key].timeout);
      for (const state of BULK[key].states) {
        expect(tasks.get(state)?.Resource, state).toBe(`GetAtt:${logicalId(key)}.Arn`);
        expect(tasks.get(state).TimeoutSeconds, state).toBeGreaterThan(lambdaTimeout);
      }
    }
    // Box has no IAM: the bulk functions that list sources, create folders and upload get the same limits as Prepare.
    const limits = { TRANSFER_SOURCES: SOURCE_BUCKETS, TRANSFER_DESTINATION_FOLDERS: '', TRANSFER_MAX_FILE_SIZE: '536870912000' };
    for (const key of BULK_KEYS) {
      const env = evaluate(template.Resources[logicalId(key)].Properties.Environment.Variables, ctx) as Record<string, string>;
      if (key === 'planSync' || key === 'syncBatch') expect(env, key).toMatchObject(limits);
      else expect(env, key).not.toHaveProperty('TRANSFER_SOURCES');
      expect(env.AWS_LAMBDA_EXEC_WRAPPER, key).toBe(wrapperEnv(key).AWS_LAMBDA_EXEC_WRAPPER);
    }
    const nested = [...tasks.values()].filter((t) => t.Resource === 'arn:aws:states:::states:startExecution.sync:2');
    expect(nested).toHaveLength(4);
    for (const t of nested) expect(t.Parameters.StateMachineArn).toBe('Ref:TransferStateMachine');

    // The role: exactly the four Lambdas, StartExecution on itself and the transfer machine, S3 for reader and writer.
    const statements = evaluate(template.Resources.BulkMachineRole.Properties.Policies.flatMap((pol: any) => pol.PolicyDocument.Statement), ctx) as any[];
    const of = (action: string): string[] => statements.filter((s) => [s.Action].flat().includes(action)).flatMap((s) => [s.Resource].flat());
    expect(of('lambda:InvokeFunction').sort()).toEqual(BULK_KEYS.map((k) => `GetAtt:${logicalId(k)}.Arn`).sort());
    expect(of('states:StartExecution').sort()).toEqual([`arn:aws:states:${REGION}:123456789012:stateMachine:s3-to-box-bulk-${STAGE}`, 'Ref:TransferStateMachine'].sort());
    expect(of('s3:ListBucket').sort()).toEqual(['arn:aws:s3:::backups', 'arn:aws:s3:::exports']); // the allowed sources' buckets
    // A bucket allowed whole is listed whole; one allowed below a prefix only with a request prefix inside it.
    expect(statements.filter((s) => [s.Action].flat().includes('s3:ListBucket')).map((s) => ({ Resource: s.Resource, Condition: s.Condition }))).toEqual([
      { Resource: ['arn:aws:s3:::exports'], Condition: undefined },
      { Resource: 'arn:aws:s3:::backups', Condition: { StringLike: { 's3:prefix': ['finance/*'] } } },
    ]);
    expect(of('s3:GetObject').sort()).toEqual(['arn:aws:s3:::/*', ...SOURCE_ARNS].sort()); // manifests: allowed sources, report buckets (none given)
    expect(of('s3:PutObject')).toEqual(['arn:aws:s3:::/*']); // no reportBuckets given: nowhere
    expect([...new Set(statements.flatMap((s) => [s.Action].flat()).filter((a: string) => a.startsWith('s3:')))].sort()).toEqual(['s3:GetObject', 's3:ListBucket', 's3:PutObject']);
    const summarizeRole = template.Resources[template.Resources.SummarizeSyncLambdaFunction.Properties.Role['Fn::GetAtt'][0]];
    const summarize = evaluate(summarizeRole.Properties.Policies.flatMap((pol: any) => pol.PolicyDocument.Statement), ctx) as any[];
    expect(summarize.flatMap((s) => [s.Action].flat()).filter((a: string) => !/^(logs|xray):/.test(a)).sort()).toEqual([
      's3:AbortMultipartUpload',
      's3:GetObject',
      's3:ListBucket',
      's3:PutObject',
      'states:DescribeExecution',
      'states:GetExecutionHistory',
    ]);
    // Summarize finds the nested transfers by name under the transfer state machine; each nested Task names them.
    expect(evaluate(template.Resources.SummarizeSyncLambdaFunction.Properties.Environment.Variables, ctx)).toMatchObject({ TRANSFER_STATE_MACHINE_ARN: 'Ref:TransferStateMachine' });
    for (const t of nested) {
      expect(t.Parameters['Name.$']).toBe('$.transfer.name');
      expect(t.Parameters['Input.$']).toBe('States.JsonMerge($.transfer.input, $.startedBy, false)');
    }
    expect(template.Outputs.BulkStateMachineArn.Value).toEqual({ Ref: 'BulkStateMachine' });
  });

  it('declares the log groups (state machine and Lambdas) and outputs the state machine ARN', () => {
    expect(template.Resources.TransferStateMachineLogGroup).toEqual({
      Type: 'AWS::Logs::LogGroup',
      Properties: { LogGroupName: `/aws/vendedlogs/states/s3-to-box-${STAGE}`, RetentionInDays: 30 },
    });
    for (const key of KEYS) {
      const id = logicalId(key).replace(/LambdaFunction$/, 'LogGroup');
      expect(template.Resources[id].Properties).toEqual({ LogGroupName: `/aws/lambda/s3-to-box-${STAGE}-${key}`, RetentionInDays: 30 });
    }
    expect(template.Outputs.TransferStateMachineArn.Value).toEqual({ Ref: 'TransferStateMachine' });
  });

  it('sets a retention on every log group of the stack', () => {
    const groups = Object.entries(template.Resources).filter(([, r]) => r.Type === 'AWS::Logs::LogGroup');
    expect(groups.map(([id]) => id)).toEqual(expect.arrayContaining([...ALL_KEYS.map((k) => logicalId(k).replace(/LambdaFunction$/, 'LogGroup')), 'TransferStateMachineLogGroup']));
    for (const [id, group] of groups) expect([id, group.Properties.RetentionInDays]).toEqual([id, 30]);
  });

  it('alarms on failed, timed-out and aborted executions (transfers and bulk runs) and on any Lambda error or throttle, notifying no topic by default', () => {
    const c = ctx;
    for (const [id, metric, machine, name] of [
      ['TransferExecutionsFailedAlarm', 'ExecutionsFailed', 'TransferStateMachine', 'ExecutionsFailed'],
      ['TransferExecutionsTimedOutAlarm', 'ExecutionsTimedOut', 'TransferStateMachine', 'ExecutionsTimedOut'],
      ['TransferExecutionsAbortedAlarm', 'ExecutionsAborted', 'TransferStateMachine', 'ExecutionsAborted'],
      ['BulkExecutionsFailedAlarm', 'ExecutionsFailed', 'BulkStateMachine', 'BulkExecutionsFailed'],
      ['BulkExecutionsTimedOutAlarm', 'ExecutionsTimedOut', 'BulkStateMachine', 'BulkExecutionsTimedOut'],
      ['BulkExecutionsAbortedAlarm', 'ExecutionsAborted', 'BulkStateMachine', 'BulkExecutionsAborted'],
    ] as const) {
      const alarm = template.Resources[id];
      expect(alarm.Type).toBe('AWS::CloudWatch::Alarm');
      expect(evaluate(alarm.Properties.AlarmName, c)).toBe(`s3-to-box-${STAGE}-${name}`);
      expect(alarm.Properties).toMatchObject({
        Namespace: 'AWS/States',
        MetricName: metric,
        Dimensions: [{ Name: 'StateMachineArn', Value: { Ref: machine } }],
        Statistic: 'Sum',
        Threshold: 1,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'notBreaching',
      });
      expect(evaluate(alarm.Properties.AlarmActions, c)).toBe('Ref:AWS::NoValue');
    }
    for (const [id, metric] of [
      ['LambdaErrorsAlarm', 'Errors'],
      ['LambdaThrottlesAlarm', 'Throttles'],
    ] as const) {
      const metrics = template.Resources[id].Properties.Metrics as any[];
      const watched = metrics.filter((m) => m.MetricStat).map((m) => ({ metric: m.MetricStat.Metric.MetricName, fn: m.MetricStat.Metric.Dimensions[0].Value }));
      expect(watched).toEqual(ALL_KEYS.map((k) => ({ metric, fn: { Ref: logicalId(k) } })));
      expect(metrics.filter((m) => m.ReturnData)).toEqual([expect.objectContaining({ Expression: 'SUM(METRICS())' })]);
      expect(template.Resources[id].Properties).toMatchObject({ Threshold: 1, ComparisonOperator: 'GreaterThanOrEqualToThreshold' });
    }
  });

  it("has a dashboard of throughput and failures whose metrics are the ones the handlers emit", () => {
    const c = ctx;
    const dashboard = template.Resources.TransferDashboard;
    expect(dashboard.Properties.DashboardName).toBe(`s3-to-box-${STAGE}`);
    const body = JSON.parse(evaluate(dashboard.Properties.DashboardBody, c) as string) as { widgets: { properties: { metrics: unknown[][] } }[] };
    const rows = body.widgets.flatMap((w) => w.properties.metrics);
    // Rows name namespace and metric, or "." for the row above's.
    let last: unknown[] = [];
    const named = rows.map((row) => {
      const full = row.map((v, i) => (v === '.' ? last[i] : v));
      last = full;
      return full;
    });
    const own = named.filter((r) => r[0] === 'S3ToBox').map((r) => r[1]);
    expect(new Set(own)).toEqual(new Set([METRIC.bytesTransferred, METRIC.partsUploaded, METRIC.partsAlreadyStored, METRIC.boxRetries, METRIC.s3LeanFallbacks, METRIC.commitWait]));
    for (const r of named.filter((r) => r[0] === 'S3ToBox')) expect(r.slice(2, 4)).toEqual(['service', SERVICE_NAME]);
    expect(JSON.stringify(rows)).toContain(`MetricName=\\"${METRIC.transfersFailed}\\"`);
    const states = named.filter((r) => r[0] === 'AWS/States');
    expect(states.map((r) => r[1])).toEqual(['ExecutionsStarted', 'ExecutionsSucceeded', 'ExecutionsFailed', 'ExecutionsTimedOut', 'ExecutionsAborted', 'ExecutionTime']);
    for (const r of states) expect(r.slice(2, 4)).toEqual(['StateMachineArn', 'Ref:TransferStateMachine']);
    expect(named.filter((r) => r[0] === 'AWS/SQS')).toEqual([['AWS/SQS', 'ApproximateNumberOfMessagesVisible', 'QueueName', 'GetAtt:TriggerFailuresQueue.QueueName']]);
    const lambdas = named.filter((r) => r[0] === 'AWS/Lambda');
    for (const metric of ['Errors', 'Throttles']) {
      expect(lambdas.filter((r) => r[1] === metric).map((r) => r[3])).toEqual(ALL_KEYS.map((k) => `s3-to-box-${STAGE}-${k}`));
    }
  });

  it('narrows the IAM resources to the sources and secret given with --param, and passes the limits to Prepare', async () => {
    const secretArn = `arn:aws:secretsmanager:${REGION}:123456789012:secret:s3-to-box/prod/box-AbCdEf`;
    const routes = '[{"bucket":"exports-a","prefix":"in/","folderId":"123"}]';
    const printed = await osls([
      'print',
      '--format',
      'json',
      `--param=sourceBuckets=exports-a, exports-b/finance/2024-`,
      `--param=boxSecretArn=${secretArn}`,
      '--param=triggerBuckets=exports-a,exports-b',
      `--param=transferRoutes=${routes}`,
      '--param=destinationFolders=123,456',
      '--param=maxFileSize=1000000',
      `--param=alarmTopicArn=arn:aws:sns:${REGION}:123456789012:s3-to-box-alarms`,
    ]);
    expect(printed.code, printed.stderr).toBe(0);
    expect(await readFile(netLog, 'utf8')).toBe('');
    const config = JSON.parse(printed.stdout) as {
      provider: any;
      functions: Record<string, any>;
      resources: { Conditions: Record<string, unknown>; Resources: Record<string, any> };
    };
    const c: EvalContext = { pseudo: PSEUDO, conditions: config.resources.Conditions };
    const statements = evaluate(config.resources.Resources.PrepareRole.Properties.Policies[0].PolicyDocument.Statement, c) as { Action: string[]; Resource: string | string[] }[];
    const s3 = statements.find((s) => s.Action.includes('s3:GetObject'));
    expect(s3?.Resource).toEqual(['arn:aws:s3:::exports-a/*', 'arn:aws:s3:::exports-b/finance/2024-*']);
    const secret = statements.find((s) => s.Action.includes('secretsmanager:GetSecretValue'));
    expect(secret?.Resource).toBe(secretArn);
    // The bulk run's listing: exports-a whole, exports-b only below its prefix (taken literally, as for objects).
    const bulkStatements = evaluate(config.resources.Resources.BulkMachineRole.Properties.Policies.flatMap((pol: any) => pol.PolicyDocument.Statement), c) as any[];
    expect(bulkStatements.filter((s) => [s.Action].flat().includes('s3:ListBucket')).map((s) => ({ Resource: s.Resource, Condition: s.Condition }))).toEqual([
      { Resource: ['arn:aws:s3:::exports-a'], Condition: undefined },
      { Resource: 'arn:aws:s3:::exports-b', Condition: { StringLike: { 's3:prefix': ['finance/2024-*'] } } },
    ]);
    expect((evaluate(config.provider.environment, c) as Record<string, string>).BOX_SECRET_ARN).toBe(secretArn);
    expect(config.functions.prepare.environment).toEqual({
      TRANSFER_SOURCES: 'exports-a, exports-b/finance/2024-',
      TRANSFER_DESTINATION_FOLDERS: '123,456',
      TRANSFER_MAX_FILE_SIZE: '1000000',
    });
    // The trigger: the EventBridge rule names the trigger buckets; the routes reach the function as given.
    const trigger = config.functions.startTransfer;
    expect(trigger.environment.TRANSFER_ROUTES).toBe(routes);
    const bridge = trigger.events.find((e: any) => e.eventBridge).eventBridge;
    expect(evaluate(bridge.pattern.detail.bucket.name, c)).toEqual(['exports-a', 'exports-b']);
    // Every alarm notifies the topic given.
    const alarms = Object.values(config.resources.Resources).filter((r) => r.Type === 'AWS::CloudWatch::Alarm');
    expect(alarms).toHaveLength(9);
    for (const alarm of alarms) expect(evaluate(alarm.Properties.AlarmActions, c)).toEqual([`arn:aws:sns:${REGION}:123456789012:s3-to-box-alarms`]);
  }, 180_000); // one osls run

  it('refuses to package without sourceBuckets, or with a wildcard in it (no default grants every bucket)', async () => {
    const missing = await osls(['print', '--format', 'json']);
    expect(missing.code).not.toBe(0);
    expect(missing.stdout + missing.stderr).toContain('The sourceBuckets parameter is required');
    const wildcard = await osls(['print', '--format', 'json', '--param=sourceBuckets=*']);
    expect(wildcard.code).not.toBe(0);
    expect(wildcard.stdout + wildcard.stderr).toContain('is not an S3 bucket name');
  }, 240_000); // two osls runs: slow on a busy machine

  it('bundles a client only into the functions whose role lets them call it (S3; Box with undici and Secrets Manager; Step Functions)', async () => {
    // Names esbuild keeps (keepNames) or strings only that library holds: present in a bundle iff the library is.
    const MARKERS = {
      s3: ['"S3Client"'],
      box: ['"BoxClient"', 'UND_ERR_CONNECT_TIMEOUT', '"GetSecretValueCommand"'],
      sfn: ['"SFNClient"'],
    };
    const may = (key: string, prefix: string): boolean => Object.keys(ACCESS[key] ?? {}).some((action) => action.startsWith(prefix));
    const carried: Record<string, Record<string, boolean[]>> = {};
    const allowed: Record<string, Record<string, boolean>> = {};
    for (const key of ALL_KEYS) {
      const code = readZip(await readFile(path.join(artifacts, `${key}.zip`))).get(`functions/${key}.mjs`)!.data.toString('utf8');
      carried[key] = Object.fromEntries(Object.entries(MARKERS).map(([client, marks]) => [client, marks.map((m) => code.includes(m))]));
      allowed[key] = { s3: may(key, 's3:'), box: may(key, 'secretsmanager:'), sfn: may(key, 'states:') };
    }
    const expected = Object.fromEntries(
      Object.entries(allowed).map(([key, a]) => [key, Object.fromEntries(Object.entries(MARKERS).map(([client, marks]) => [client, marks.map(() => a[client])]))]),
    );
    expect(carried).toEqual(expected);
    // Spelled out for a pure function, one that only reads S3, and one that uses both.
    expect(allowed.describeFailure).toEqual({ s3: false, box: false, sfn: false });
    expect(allowed.hashObject).toEqual({ s3: true, box: false, sfn: false });
    expect(allowed.prepare).toEqual({ s3: true, box: true, sfn: false });
  });

  it('zips one bundled ESM handler per Lambda (with the exec wrapper of those that move bytes), and each loads and runs under Node 22 with only its zip', async () => {
    const unzipped = path.join(tmp, 'unzipped');
    const wrapperSource = await readFile(path.join(REPO, EXEC_WRAPPER));
    for (const key of ALL_KEYS) {
      const entries = readZip(await readFile(path.join(artifacts, `${key}.zip`)));
      // Everything is bundled (the AWS SDK included): no node_modules, no source map, nothing else but the
      // exec wrapper of the Lambdas that move bytes.
      expect([...entries.keys()].sort(), key).toEqual([`functions/${key}.mjs`, ...(WRAPPED.has(key) ? [EXEC_WRAPPER] : [])].sort());
      // Minified: long lines (a readable bundle averages about 40 characters a line).
      const code = entries.get(`functions/${key}.mjs`)!.data.toString('utf8');
      expect(code.length / code.split('\n').length).toBeGreaterThan(500);
      if (WRAPPED.has(key)) {
        // Lambda refuses a wrapper that is not executable (the runtime's bootstrap checks -x before exec).
        const wrapper = entries.get(EXEC_WRAPPER)!;
        expect(wrapper.data.equals(wrapperSource), key).toBe(true);
        expect(wrapper.unixMode, key).toBeDefined();
        expect((wrapper.unixMode ?? 0) & 0o555, `${key}: ${EXEC_WRAPPER} readable and executable by all`).toBe(0o555);
      }
      for (const [name, { data, unixMode }] of entries) {
        await mkdir(path.dirname(path.join(unzipped, key, name)), { recursive: true });
        await writeFile(path.join(unzipped, key, name), data, { mode: (unixMode ?? 0o644) & 0o777 });
      }
    }

    // Each wrapper, unzipped with its mode, started as the Node.js runtime's bootstrap starts it (the node
    // binary, the runtime's own options, its entry script): the same process runs Node with the V8 flag
    // added, the runtime's options and entry after it, and loads the function's handler.
    const runnerFlags = (JSON.parse(await readFile(path.join(REPO, 'local/runner/node-flags.json'), 'utf8')) as { flags: string[] }).flags;
    for (const key of WRAPPED) {
      const memoryMb = template.Resources[logicalId(key)].Properties.MemorySize as number;
      const entry = ['--input-type=module', '-e', `const m = await import(process.argv[1]); console.log(JSON.stringify({ execArgv: process.execArgv, handler: typeof m.handler }));`, path.join(unzipped, key, `functions/${key}.mjs`)];
      const command = lambdaCommand({ memoryMb, execWrapper: path.join(unzipped, key, EXEC_WRAPPER) }, NODE22, entry);
      expect(command.file).toBe(path.join(unzipped, key, EXEC_WRAPPER));
      const started = await run(command.file, command.args, { cwd: tmp, env: offlineEnv({ AWS_REGION: REGION, LOG_LEVEL: 'silent' }), timeout: 60_000 });
      expect(started.code, `${key}: ${started.stderr}`).toBe(0);
      const seen = JSON.parse(started.stdout.trim().split('\n').at(-1) ?? '{}') as { execArgv: string[]; handler: string };
      // The flag is the local runner's (one V8 configuration for the CLI and the Lambdas that move bytes).
      expect(seen, key).toEqual({ execArgv: [...runnerFlags, ...runtimeNodeOptions(memoryMb), '--input-type=module', '-e', entry[2]], handler: 'function' });
    }

    // A loopback stand-in for Box's abort endpoint, to see a bundled handler make a real Box call.
    const seen: { method?: string; url?: string; auth?: string }[] = [];
    const box = http.createServer((req, res) => {
      seen.push({ method: req.method, url: req.url, auth: req.headers.authorization });
      res.writeHead(204).end();
    });
    await new Promise<void>((resolve) => box.listen(0, '127.0.0.1', resolve));
    const port = (box.address() as AddressInfo).port;

    // A loopback stand-in for Step Functions (SFN_ENDPOINT), to see the bundled startTransfer call StartExecution.
    const sfnCalls: { target?: string; body: any }[] = [];
    const sfn = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { name: string };
        const target = req.headers['x-amz-target'] as string | undefined;
        sfnCalls.push({ target, body });
        res.writeHead(200, { 'Content-Type': 'application/x-amz-json-1.0' });
        if (target === 'AWSStepFunctions.GetExecutionHistory') {
          // A stopped execution whose Prepare opened session S2 (abortOnStop reads it from here).
          const output = JSON.stringify({ transfer: { session: { id: 'S2', endpoints: { abort: `http://127.0.0.1:${port}/api/2.0/files/upload_sessions/S2` } } } });
          res.end(JSON.stringify({ events: [{ id: 3, previousEventId: 2, timestamp: Date.now() / 1000, type: 'TaskStateExited', stateExitedEventDetails: { name: 'Prepare', output } }] }));
          return;
        }
        res.end(JSON.stringify({ executionArn: `arn:aws:states:${REGION}:123456789012:execution:s3-to-box-${STAGE}:${body.name}`, startDate: Date.now() / 1000 }));
      });
    });
    await new Promise<void>((resolve) => sfn.listen(0, '127.0.0.1', resolve));
    const sfnPort = (sfn.address() as AddressInfo).port;
    const stateMachineArn = `arn:aws:states:${REGION}:123456789012:stateMachine:s3-to-box-${STAGE}`;

    // Each handler is imported from its own unzipped folder, outside the project (no node_modules
    // to fall back on), in a fresh Node 22 process, the way the Lambda runtime loads it.
    const script = `
      const dir = ${JSON.stringify(unzipped)};
      const keys = ${JSON.stringify(ALL_KEYS)};
      const out = {};
      for (const key of keys) {
        const mod = await import(new URL('file://' + dir + '/' + key + '/functions/' + key + '.mjs').href);
        out[key] = typeof mod.handler;
      }
      const ctx = { awsRequestId: 'req-1', functionName: 'f', getRemainingTimeInMillis: () => 60000 };
      const prepare = await import('file://' + dir + '/prepare/functions/prepare.mjs');
      try { await prepare.handler({}, ctx); out.prepare = 'resolved'; } catch (e) { out.prepareError = e.name; }
      const planSync = await import('file://' + dir + '/planSync/functions/planSync.mjs');
      try { await planSync.handler({ input: { source: { bucket: 'b' } }, executionName: 'x', executionId: 'y' }, ctx); out.planSync = 'resolved'; } catch (e) { out.planSyncError = [e.name, e.message]; }
      const abort = await import('file://' + dir + '/abortSession/functions/abortSession.mjs');
      const session = { id: 'S1', partSize: 8388608, totalParts: 3, endpoints: {
        uploadPart: '', commit: '', listParts: '', status: '',
        abort: 'http://127.0.0.1:${port}/api/2.0/files/upload_sessions/S1' } };
      out.abort = await abort.handler({ transfer: { session }, error: { Error: 'Box.ServerError', Cause: 'test' } }, ctx);
      const describe = await import('file://' + dir + '/describeFailure/functions/describeFailure.mjs');
      const input = { source: { bucket: 'b', key: 'k.bin' }, destination: { folderId: '1' } };
      const described = await describe.handler({ input, state: { transfer: { source: { etag: '"e"' }, destination: { fileName: 'k.bin' }, session },
        error: { Error: 'Box.ServerError', Cause: JSON.stringify({ errorType: 'Box.ServerError', errorMessage: 'Box answered 503', trace: [] }) } } }, ctx);
      out.described = [described.error, described.resumable, JSON.parse(described.cause)];
      const stop = await import('file://' + dir + '/abortOnStop/functions/abortOnStop.mjs');
      out.stopped = await stop.handler({ source: 'aws.states', 'detail-type': 'Step Functions Execution Status Change',
        detail: { executionArn: 'arn:aws:states:${REGION}:123456789012:execution:s3-to-box-${STAGE}:stopped', status: 'ABORTED' } }, ctx);
      const trigger = await import('file://' + dir + '/startTransfer/functions/startTransfer.mjs');
      const post = (body) => trigger.handler({ version: '2.0', routeKey: 'POST /transfers', rawPath: '/transfers', headers: { 'Content-Type': 'application/json', 'Idempotency-Key': 'deploy-test' },
        requestContext: { http: { method: 'POST', path: '/transfers' } }, body: JSON.stringify(body), isBase64Encoded: false }, ctx);
      const bad = await post({ source: { bucket: 'b' }, destination: { folderId: '1' } });
      out.badRequest = [bad.statusCode, JSON.parse(bad.body)];
      const good = await post({ source: { bucket: 'exports', key: 'a.bin' }, destination: { folderId: '1' } });
      out.accepted = [good.statusCode, JSON.parse(good.body).executionName];
      console.log(JSON.stringify(out));
    `;
    const result = await run(NODE22, ['--input-type=module', '-e', script], {
      cwd: tmp,
      env: offlineEnv({
        AWS_REGION: REGION,
        BOX_DEVELOPER_TOKEN: 'deploy-test-token',
        // The stand-in is the configured Box: credentials go to no other host (Box.UntrustedUrl).
        BOX_API_URL: `http://127.0.0.1:${port}`,
        BOX_UPLOAD_URL: `http://127.0.0.1:${port}/api`,
        LOG_LEVEL: 'silent',
        NO_NETWORK_ALLOW_LOOPBACK: '1',
        STATE_MACHINE_ARN: stateMachineArn,
        SFN_ENDPOINT: `http://127.0.0.1:${sfnPort}`,
        AWS_ACCESS_KEY_ID: 'deploy-test',
        AWS_SECRET_ACCESS_KEY: 'deploy-test',
      }),
      timeout: 60_000,
    });
    await new Promise<void>((resolve) => box.close(() => resolve()));
    await new Promise<void>((resolve) => sfn.close(() => resolve()));
    expect(result.code, result.stderr).toBe(0);
    const out = JSON.parse(result.stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
    expect(out).toEqual({
      prepare: 'function',
      directUpload: 'function',
      uploadBatch: 'function',
      hashObject: 'function',
      commit: 'function',
      abortSession: 'function',
      describeFailure: 'function',
      startTransfer: 'function',
      abortOnStop: 'function',
      transferStatus: 'function',
      planSync: 'function',
      syncBatch: 'function',
      finishBatch: 'function',
      summarizeSync: 'function',
      prepareError: 'Transfer.InvalidInput',
      planSyncError: ['Transfer.InvalidInput', expect.stringContaining('destination is required')],
      abort: { aborted: true },
      stopped: { executionArn: `arn:aws:states:${REGION}:123456789012:execution:s3-to-box-${STAGE}:stopped`, sessionId: 'S2', aborted: true },
      described: [
        'Box.ServerError',
        true,
        {
          error: { name: 'Box.ServerError', message: 'Box answered 503' },
          resumable: true,
          resumeInput: { source: { bucket: 'b', key: 'k.bin' }, destination: { folderId: '1' }, resume: { sessionId: 'S1', etag: '"e"', fileName: 'k.bin' } },
        },
      ],
      badRequest: [400, { error: 'Transfer.InvalidInput', message: 'Invalid transfer input: source.key is required' }],
      accepted: [202, expect.stringMatching(/^http-deploy-test-[0-9a-f]{32}$/)],
    });
    // The bundled SDK read the stopped execution's history, and called StartExecution once, for the valid request only.
    expect(sfnCalls).toEqual([
      {
        target: 'AWSStepFunctions.GetExecutionHistory',
        body: { executionArn: `arn:aws:states:${REGION}:123456789012:execution:s3-to-box-${STAGE}:stopped`, maxResults: 1000, reverseOrder: false, includeExecutionData: true },
      },
      {
        target: 'AWSStepFunctions.StartExecution',
        body: { stateMachineArn, name: expect.stringMatching(/^http-deploy-test-/), input: JSON.stringify({ source: { bucket: 'exports', key: 'a.bin' }, destination: { folderId: '1' } }) },
      },
    ]);
    expect(seen).toEqual([
      { method: 'DELETE', url: '/api/2.0/files/upload_sessions/S1', auth: 'Bearer deploy-test-token' },
      { method: 'DELETE', url: '/api/2.0/files/upload_sessions/S2', auth: 'Bearer deploy-test-token' },
    ]);
    expect(await readFile(netLog, 'utf8')).toBe('');

    // The other bundles do real work, against s3rver and the Box emulator on loopback: Prepare, then
    // DirectUpload of a small object; Prepare, every UploadBatch, the HashObject loop and the Commit loop of
    // a chunked one; SyncBatch copying a small object, FinishBatch, SummarizeSync writing its report; and
    // TransferStatus answering a request.
    const s3 = await startLocalS3({ buckets: ['exports'] });
    const emulator = await startBoxEmulator();
    try {
      const small = await putGeneratedObject(s3.client, { bucket: 'exports', key: 'small.bin', size: 1000 });
      const big = await putGeneratedObject(s3.client, { bucket: 'exports', key: 'big.bin', size: 20_000_001 });
      const one = await putGeneratedObject(s3.client, { bucket: 'exports', key: 'sync/one.txt', size: 10 });
      const reported = { key: 'sync/one.txt', outcome: 'copied', bytes: 10, path: 'one.txt', fileId: '1', sha1: one.sha1 };
      await s3.client.send(new PutObjectCommand({ Bucket: 'exports', Key: 'runs/r1/results/SUCCEEDED_0.json', Body: JSON.stringify([{ Status: 'SUCCEEDED', Output: JSON.stringify({ results: [reported] }) }]) }));
      await s3.client.send(new PutObjectCommand({ Bucket: 'exports', Key: 'runs/r1/results/manifest.json', Body: JSON.stringify({ ResultFiles: { SUCCEEDED: [{ Key: 'runs/r1/results/SUCCEEDED_0.json' }], FAILED: [], PENDING: [] } }) }));
      const work = `
        const dir = ${JSON.stringify(unzipped)};
        const load = (key) => import('file://' + dir + '/' + key + '/functions/' + key + '.mjs').then((m) => m.handler);
        const ctx = { awsRequestId: 'req-2', functionName: 'f', getRemainingTimeInMillis: () => 600000 };
        const executionId = 'arn:aws:states:${REGION}:123456789012:execution:s3-to-box-${STAGE}:bundles';
        const out = {};
        const [prepare, directUpload, uploadBatch, hashObject, commit, syncBatch, finishBatch, summarizeSync, transferStatus] = await Promise.all(
          ['prepare', 'directUpload', 'uploadBatch', 'hashObject', 'commit', 'syncBatch', 'finishBatch', 'summarizeSync', 'transferStatus'].map(load));
        const direct = await prepare({ input: { source: { bucket: 'exports', key: 'small.bin' }, destination: { folderId: '0' } }, executionId }, ctx);
        const uploaded = await directUpload({ executionId, mode: direct.mode, transfer: direct.transfer, retryCount: 0 }, ctx);
        out.direct = [direct.mode, uploaded.file.size, uploaded.file.sha1];
        const chunked = await prepare({ input: { source: { bucket: 'exports', key: 'big.bin' }, destination: { folderId: '0' } }, executionId }, ctx);
        let parts = 0;
        for (const batch of chunked.batches) parts += (await uploadBatch({ executionId, transfer: chunked.transfer, batch, retryCount: 0 }, ctx)).parts;
        let hash;
        do hash = await hashObject({ executionId, transfer: chunked.transfer, ...(hash ? { hash } : {}) }, ctx); while (!hash.done);
        const state = { transfer: chunked.transfer, sha1: hash.sha1 };
        do state.commit = await commit(state, ctx); while (state.commit.status === 'processing');
        out.chunked = [chunked.mode, parts, state.commit.output.file.size, state.commit.output.file.sha1];
        const run = { runId: 'r1', reader: 'prefix', sourceBucket: 'exports', basePrefix: 'sync/', folderId: '0', layout: 'mirror', skip: 'same-content',
          onConflict: 'version', objectsInFlight: 1, uploadsPerMinute: 1000, dryRun: false };
        const batch = await syncBatch({ Items: [{ Key: 'sync/one.txt', Size: 10, ETag: ${JSON.stringify(one.etag)} }], BatchInput: { run } }, ctx);
        const finished = await finishBatch({ results: batch.results, transferResults: [] }, ctx);
        out.synced = finished.results.map((r) => [r.key, r.outcome, r.sha1]);
        const summary = await summarizeSync({ plan: { results: { bucket: 'exports', prefix: 'runs/r1' }, batchInput: run }, mapRun: { ResultWriterDetails: { Bucket: 'exports', Key: 'runs/r1/results/manifest.json' } } }, ctx);
        out.summary = [summary.objects, summary.copied, summary.report];
        const status = await transferStatus({ version: '2.0', routeKey: 'GET /transfers/{name}', rawPath: '/transfers/not%20a%20name', pathParameters: { name: 'not a name' },
          headers: {}, requestContext: { http: { method: 'GET', path: '/transfers/not%20a%20name' } }, isBase64Encoded: false }, ctx);
        out.status = [status.statusCode, JSON.parse(status.body).error];
        console.log(JSON.stringify(out));
      `;
      const worked = await run(NODE22, ['--input-type=module', '-e', work], {
        cwd: tmp,
        env: offlineEnv({
          AWS_REGION: REGION,
          AWS_ACCESS_KEY_ID: 'S3RVER',
          AWS_SECRET_ACCESS_KEY: 'S3RVER',
          S3_ENDPOINT: s3.endpoint,
          S3_FORCE_PATH_STYLE: 'true',
          BOX_DEVELOPER_TOKEN: emulator.token,
          BOX_API_URL: emulator.url,
          BOX_UPLOAD_URL: emulator.uploadUrl,
          STATE_MACHINE_ARN: stateMachineArn,
          SFN_ENDPOINT: `http://127.0.0.1:${sfnPort}`,
          LOG_LEVEL: 'silent',
          POWERTOOLS_LOG_LEVEL: 'SILENT',
          NO_NETWORK_ALLOW_LOOPBACK: '1',
        }),
        timeout: 120_000,
      });
      expect(worked.code, worked.stderr).toBe(0);
      const done = JSON.parse(worked.stdout.trim().split('\n').at(-1) ?? '{}') as Record<string, unknown>;
      expect(done).toEqual({
        direct: ['direct', 1000, small.sha1],
        chunked: ['chunked', 3, 20_000_001, big.sha1],
        synced: [['sync/one.txt', 'copied', one.sha1]],
        summary: [1, 1, { bucket: 'exports', key: 'runs/r1/report.jsonl' }],
        status: [400, 'Transfer.InvalidInput'],
      });
      // What Box holds is what S3 held, byte for byte.
      for (const [name, sha1] of [['small.bin', small.sha1], ['big.bin', big.sha1]] as const) expect(emulator.findFile('0', name)?.sha1).toBe(sha1);
      const report = await s3.client.send(new GetObjectCommand({ Bucket: 'exports', Key: 'runs/r1/report.jsonl' }));
      expect(JSON.parse((await report.Body?.transformToString('utf8')) ?? '')).toEqual(reported);
      expect(await readFile(netLog, 'utf8')).toBe('');
    } finally {
      await emulator.close();
      await s3.close();
    }
  }, 240_000);

  it('keeps the packager\'s temporary folders inside the test\'s own folder (removed after the run)', () => {
    // One staging folder per function, named <function>-<pid>-<time>-<random>: here, not in the machine's /tmp.
    for (const key of ALL_KEYS) expect(packagerTemp.some((name) => name.startsWith(`${key}-`)), key).toBe(true);
  });
});
