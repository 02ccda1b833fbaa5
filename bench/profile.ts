// Breaks a V8 CPU profile (node --cpu-prof) down by where its self time went: the categories the
// bench reports (hashing, S3 body handling, HTTP, GC, module loading, our code, ...) and the top functions.
//   node bench/profile.ts FILE.cpuprofile   prints the breakdown as JSON
import { readFile } from 'node:fs/promises';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
  children?: number[];
}
export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface ProfileBreakdown {
  totalMs: number;
  /** Self time per category, in ms, largest first. */
  categories: { category: string; ms: number }[];
  /** The functions with the most self time. */
  top: { fn: string; where: string; ms: number }[];
  /**
   * Busy ms before the transfer started: every sample before the first one with `startExecution` (the local
   * runner's) on its stack, i.e. the process's start-up and imports. Unset when no sample has it (a profile of
   * something else) and in records of earlier runs.
   */
  startupMs?: number;
}

/** The function whose first sample marks the transfer's start. */
const TRANSFER_START = 'startExecution';

/** The category of a frame's self time; `stack` is its callers' "name@url" (innermost first), for a few that need them. */
function categorize(fn: string, url: string, stack: string): string {
  if (fn === '(garbage collector)') return 'garbage collection';
  if (fn === '(idle)') return 'idle';
  if (fn === '(program)') return 'program (V8/native, unattributed)';
  // WebAssembly frames: hash-wasm's SHA-1, or undici's HTTP parser (llhttp), told apart by their callers.
  if (url.includes('amaro') || (url.startsWith('wasm://') && stack.includes('amaro'))) return 'TypeScript type stripping';
  if (url.startsWith('wasm://')) return stack.includes('/undici/') ? 'undici (Box client)' : 'SHA-1: hash-wasm';
  if (url.includes('hash-wasm')) return 'SHA-1: hash-wasm';
  if (/\bHash\b|createHash|node:internal\/crypto/.test(`${fn} ${url}`)) return 'SHA-1: node:crypto';
  if (fn === 'concatBytes' || url.includes('stream-collector')) return 'S3 body collection (SDK concatBytes)';
  if (/detectModuleFormat|cjs-module-lexer/.test(`${fn} ${url}`)) return 'module loading and compiling';
  if (/compileFunction|wrapSafe|compileSourceTextModule|ModuleWrap|stripTypeScript|processTypeScriptCode|loadESM|moduleLinker|translators/.test(`${fn} ${url}`) || stack.includes('compileSourceTextModule')) return 'module loading and compiling';
  if (url.includes('node:internal/modules') || url.includes('node:internal/vm')) return 'module loading and compiling';
  if (/^(onStreamRead|readableAddChunk|addChunk|emit|push)$/.test(fn) || /node:internal\/(stream_base_commons|streams|net)|node:net|node:stream/.test(url)) return 'streams and sockets';
  if (url.includes('node:_http') || url.includes('node:http') || url.includes('node:internal/http')) return 'node:http (S3 client)';
  if (url.includes('/undici/')) return 'undici (Box client)';
  if (url.includes('@smithy/') || url.includes('@aws-sdk/')) return 'AWS SDK (other)';
  if (url.includes('aws-local-stepfunctions') || url.includes('/local/runner/')) return 'local state machine runner';
  if (url.includes('/src/') || url.includes('/functions/')) return 'transfer code';
  if (url.includes('node_modules')) return 'other libraries';
  if (url.startsWith('node:') || url === '') return 'node internals / native';
  return 'other';
}

export function breakdown(profile: CpuProfile): ProfileBreakdown {
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of profile.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  // Whether a node has the transfer's start on its stack (itself or a caller), memoized.
  const inTransfer = new Map<number, boolean>();
  const startedAt = (id: number): boolean => {
    const known = inTransfer.get(id);
    if (known !== undefined) return known;
    const p = parent.get(id);
    const v = byId.get(id)?.callFrame.functionName === TRANSFER_START || (p !== undefined && startedAt(p));
    inTransfer.set(id, v);
    return v;
  };
  const selfUs = new Map<number, number>();
  const startupUs = new Map<number, number>();
  let started = false;
  for (let i = 0; i < profile.samples.length; i++) {
    const id = profile.samples[i] as number;
    // A sample's delta is the time until the next sample: credit it to this sample's node.
    const dt = profile.timeDeltas[i + 1] ?? 0;
    selfUs.set(id, (selfUs.get(id) ?? 0) + dt);
    started ||= startedAt(id);
    if (!started) startupUs.set(id, (startupUs.get(id) ?? 0) + dt);
  }
  const cats = new Map<string, number>();
  const fns = new Map<string, { fn: string; where: string; ms: number }>();
  let total = 0;
  for (const [id, us] of selfUs) {
    const n = byId.get(id);
    if (n === undefined) continue;
    const names: string[] = [];
    for (let p = parent.get(id); p !== undefined && names.length < 30; p = parent.get(p)) {
      const frame = byId.get(p)?.callFrame;
      names.push(`${frame?.functionName ?? ''}@${frame?.url ?? ''}`);
    }
    const { functionName: fn, url } = n.callFrame;
    const cat = categorize(fn, url, names.join(' '));
    if (cat === 'idle') continue;
    total += us;
    cats.set(cat, (cats.get(cat) ?? 0) + us);
    const where = url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*?\/(src|functions|local|bench)\//, '$1/');
    const key = `${fn}@${where}`;
    const f = fns.get(key) ?? { fn: fn || '(anonymous)', where, ms: 0 };
    f.ms += us / 1000;
    fns.set(key, f);
  }
  let startup = 0;
  for (const [id, us] of startupUs) if (byId.get(id)?.callFrame.functionName !== '(idle)') startup += us;
  return {
    ...(started ? { startupMs: startup / 1000 } : {}),
    totalMs: total / 1000,
    categories: [...cats].map(([category, us]) => ({ category, ms: us / 1000 })).sort((a, b) => b.ms - a.ms),
    top: [...fns.values()].sort((a, b) => b.ms - a.ms).slice(0, 15),
  };
}

export async function breakdownFile(file: string): Promise<ProfileBreakdown> {
  return breakdown(JSON.parse(await readFile(file, 'utf8')) as CpuProfile);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const file = process.argv[2];
  if (file === undefined) throw new Error('usage: node bench/profile.ts FILE.cpuprofile');
  process.stdout.write(`${JSON.stringify(await breakdownFile(file), null, 2)}\n`);
}
