// Lambda bundles: each handler built by esbuild with the options of serverless.yml's custom.esbuild
// (what serverless-esbuild passes), in variants of minify and source maps; the size of each file and
// the time to import the bundle in a fresh Node 22 process started as Lambda starts the function's
// (local/lambda/runtime.ts), with NODE_OPTIONS=--enable-source-maps as the Lambdas get it when maps are shipped.
//   node bench/bundles.ts [--repeat N]   prints JSON
import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { BuildOptions } from 'esbuild';
import { CORE_SCHEMA, load, mergeTag } from 'js-yaml';
import { lambdaCommand } from '../local/lambda/runtime.ts';
import type { LambdaProcess } from '../local/lambda/runtime.ts';
import { median } from './stats.ts';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface BundleVariant {
  key: string;
  label: string;
  minify: boolean;
  sourcemap: boolean;
}
export interface BundleRow {
  fn: string;
  variant: string;
  bytes: number;
  mapBytes: number;
  /** Median ms to import the bundle (fresh process each time). */
  loadMs: number;
  /** Median CPU ms of that import. */
  loadCpuMs: number;
}

export const VARIANTS: BundleVariant[] = [
  { key: 'plain-map', label: 'not minified, source map (before)', minify: false, sourcemap: true },
  { key: 'min-map', label: 'minified, source map', minify: true, sourcemap: true },
  { key: 'min', label: 'minified, no source map', minify: true, sourcemap: false },
];

export interface ServerlessConfig {
  params?: { default?: Record<string, unknown> };
  provider: { memorySize: number; timeout?: number; architecture?: string; environment?: Record<string, unknown> };
  custom: { esbuild: Record<string, unknown> };
  functions: Record<string, { handler: string; memorySize?: number; timeout?: number; architecture?: string; environment?: Record<string, unknown> }>;
}

/**
 * serverless.yml as the Serverless Framework reads it; ${...} variables stay text. Its merge keys (`<<: *execWrapper`)
 * are resolved as the framework's YAML parser does: js-yaml 5's default schema keeps `<<` as a plain key, which
 * silently dropped hashObject's AWS_LAMBDA_EXEC_WRAPPER from the process the bench started for it.
 */
export async function serverlessConfig(): Promise<ServerlessConfig> {
  return load(await readFile(path.join(ROOT, 'serverless.yml'), 'utf8'), { schema: CORE_SCHEMA.withTags(mergeTag) }) as ServerlessConfig;
}

/** Where Lambda unpacks a function's zip: an exec wrapper's path in serverless.yml starts with it. */
const TASK_ROOT = '/var/task/';

/** How Lambda starts a function's process, from serverless.yml: its memory and its exec wrapper (a local path). */
export async function lambdaProcessOf(fn: string): Promise<LambdaProcess> {
  const cfg = await serverlessConfig();
  const f = cfg.functions[fn];
  if (f === undefined) throw new Error(`no function ${fn} in serverless.yml`);
  const wrapper = f.environment?.AWS_LAMBDA_EXEC_WRAPPER;
  if (wrapper !== undefined && (typeof wrapper !== 'string' || !wrapper.startsWith(TASK_ROOT))) {
    throw new Error(`${fn}: AWS_LAMBDA_EXEC_WRAPPER ${String(wrapper)} is not a file of the function's zip (${TASK_ROOT}...)`);
  }
  return { memoryMb: f.memorySize ?? cfg.provider.memorySize, execWrapper: wrapper === undefined ? undefined : path.join(ROOT, wrapper.slice(TASK_ROOT.length)) };
}

/** The instruction set a Lambda function runs on (Lambda prices a GB-second of each differently). */
export type Architecture = 'arm64' | 'x86_64';

/** What a function is billed by: its memory (MB) and its architecture. */
export interface FunctionSize {
  memoryMb: number;
  architecture: Architecture;
  /** false: its environment turns the Powertools tracer off (POWERTOOLS_TRACE_ENABLED 'false'), so it sends no segments of its own; undefined: traced. */
  traced?: boolean;
}

/**
 * Memory (MB) and architecture of every function as serverless.yml configures it (its own, else the
 * provider's; Lambda's default architecture is x86_64), by the name of the Task state that invokes it (the
 * function's key with a capital first letter: UploadBatch for uploadBatch).
 */
export async function lambdaSizeByState(): Promise<Record<string, FunctionSize>> {
  const cfg = await serverlessConfig();
  return Object.fromEntries(
    Object.entries(cfg.functions).map(([fn, f]) => {
      const architecture = f.architecture ?? cfg.provider.architecture ?? 'x86_64';
      if (architecture !== 'arm64' && architecture !== 'x86_64') throw new Error(`${fn}: architecture ${architecture} in serverless.yml is neither arm64 nor x86_64`);
      const tracing = f.environment?.POWERTOOLS_TRACE_ENABLED ?? cfg.provider.environment?.POWERTOOLS_TRACE_ENABLED;
      return [`${fn.charAt(0).toUpperCase()}${fn.slice(1)}`, { memoryMb: f.memorySize ?? cfg.provider.memorySize, architecture, traced: String(tracing ?? 'true') !== 'false' }];
    }),
  );
}

/** The esbuild options serverless-esbuild derives from custom.esbuild (its own keys removed). */
function esbuildOptions(custom: Record<string, unknown>): BuildOptions {
  const { exclude: _exclude, outputFileExtension: _ext, packager: _p, ...rest } = custom;
  return rest as BuildOptions;
}

const IMPORT_TIMER = `const c=process.cpuUsage();const t=performance.now();await import(process.argv[1]);const u=process.cpuUsage(c);process.stdout.write(JSON.stringify({ms:performance.now()-t,cpuMs:(u.user+u.system)/1000}));`;

/** Imports the bundle in a process started as Lambda starts the function's (its exec wrapper and heap options). */
function timeImport(file: string, sourcemap: boolean, lambda: LambdaProcess): { ms: number; cpuMs: number } {
  const command = lambdaCommand(lambda, process.execPath, ['--input-type=module', '-e', IMPORT_TIMER, file]);
  const r = spawnSync(command.file, command.args, {
    encoding: 'utf8',
    env: { ...process.env, NODE_OPTIONS: sourcemap ? '--enable-source-maps' : '', AWS_REGION: 'us-east-1' },
  });
  if (r.status !== 0) throw new Error(`importing ${file} failed: ${r.stderr}`);
  return JSON.parse(r.stdout) as { ms: number; cpuMs: number };
}

/** Builds one function's bundle as serverless.yml ships it (minified, no source map); returns the .mjs path. */
export async function buildShipped(fn: string, outDir: string): Promise<string> {
  const cfg = await serverlessConfig();
  const handler = cfg.functions[fn]?.handler;
  if (handler === undefined) throw new Error(`no function ${fn} in serverless.yml`);
  const outfile = path.join(outDir, `${fn}.mjs`);
  await build({ ...esbuildOptions(cfg.custom.esbuild), entryPoints: [path.join(ROOT, `${handler.replace(/\.[^.]+$/, '')}.ts`)], outfile, logLevel: 'silent' });
  return outfile;
}

export async function measureBundles(repeat = 5, variants = VARIANTS): Promise<BundleRow[]> {
  const cfg = await serverlessConfig();
  const base = esbuildOptions(cfg.custom.esbuild);
  const out = await mkdtemp(path.join(os.tmpdir(), 's3-to-box-bundles-'));
  const rows: BundleRow[] = [];
  try {
    for (const [fn, { handler }] of Object.entries(cfg.functions)) {
      const entry = path.join(ROOT, `${handler.replace(/\.[^.]+$/, '')}.ts`);
      const lambda = await lambdaProcessOf(fn);
      for (const v of variants) {
        const outfile = path.join(out, v.key, `${fn}.mjs`);
        await build({ ...base, entryPoints: [entry], outfile, minify: v.minify, sourcemap: v.sourcemap, logLevel: 'silent' });
        const bytes = (await stat(outfile)).size;
        const mapBytes = v.sourcemap ? (await stat(`${outfile}.map`)).size : 0;
        const runs = Array.from({ length: repeat }, () => timeImport(outfile, v.sourcemap, lambda));
        rows.push({ fn, variant: v.key, bytes, mapBytes, loadMs: median(runs.map((r) => r.ms)), loadCpuMs: median(runs.map((r) => r.cpuMs)) });
      }
    }
  } finally {
    await rm(out, { recursive: true, force: true });
  }
  return rows;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const repeat = Number(process.argv[process.argv.indexOf('--repeat') + 1] ?? 5) || 5;
  const rows = await measureBundles(repeat);
  const text = JSON.stringify(rows, null, 1);
  if (process.argv.includes('--out')) await writeFile(process.argv[process.argv.indexOf('--out') + 1] as string, text);
  process.stdout.write(`${text}\n`);
}
