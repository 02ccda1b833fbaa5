// The CLI's TypeScript, stripped once and kept. Node strips the types of every .ts module on every start
// (its compile cache keeps V8's code, not the stripped source): a CPU profile of a start put it at about a
// sixth of the CLI's CPU before its first request. This load hook keeps each project module's stripped source in
// node_modules/.cache, keyed by the module's URL, its exact source and the Node version, so an edited
// file is stripped again and a stale one is never used. Anything unusual (no writable cache folder,
// a folder someone else owns or may write to) leaves stripping to Node as before.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { registerHooks, stripTypeScriptTypes } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The folder the stripped sources of `root` (a folder URL ending in /) go to, unless the env names one. */
function typeScriptCacheDir(root, env = process.env) {
  return env.S3_TO_BOX_TS_CACHE_DIR || join(fileURLToPath(root), 'node_modules', '.cache', 's3-to-box-ts', process.version);
}

/** The cache file of a module: its name says which URL, which exact source and which Node stripped it. */
export function typeScriptCacheKey(url, source) {
  return createHash('sha256').update(process.version).update('\0').update(url).update('\0').update(source).digest('hex');
}

/** Our own folder, that nobody else may write to (else its files could run as our code). */
function usableDir(dir) {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const stat = statSync(dir);
  const uid = process.getuid?.();
  return stat.isDirectory() && (uid === undefined || stat.uid === uid) && (stat.mode & 0o022) === 0;
}

/** Types stripped as Node strips them (strip-only: types become spaces, so lines and columns stay). */
function strip(source) {
  // stripTypeScriptTypes warns that it is experimental; Node's own stripping of the same modules does not.
  const emitWarning = process.emitWarning;
  process.emitWarning = () => {};
  try {
    return stripTypeScriptTypes(source, { mode: 'strip' });
  } finally {
    process.emitWarning = emitWarning;
  }
}

/**
 * Serves the project's own .ts modules (under `root`, outside node_modules) from the cache, filling it on
 * a miss. Returns whether the hook was registered.
 */
export function registerTypeScriptCache(root, env = process.env) {
  if (env.NODE_DISABLE_COMPILE_CACHE || typeof registerHooks !== 'function' || typeof stripTypeScriptTypes !== 'function') return false;
  const dir = typeScriptCacheDir(root, env);
  try {
    if (!usableDir(dir)) return false;
  } catch {
    return false;
  }
  registerHooks({
    load(url, context, nextLoad) {
      const typeScriptModule = context.format === undefined || context.format === 'module-typescript';
      if (!typeScriptModule || !url.startsWith(root) || !url.endsWith('.ts') || url.includes('/node_modules/')) return nextLoad(url, context);
      let source;
      try {
        source = readFileSync(fileURLToPath(url), 'utf8');
      } catch {
        return nextLoad(url, context);
      }
      const file = join(dir, `${typeScriptCacheKey(url, source)}.js`);
      let stripped;
      try {
        stripped = readFileSync(file, 'utf8');
      } catch {
        try {
          stripped = strip(source);
        } catch {
          return nextLoad(url, context); // Node's own stripping reports the error
        }
        try {
          // Whole or not at all: another process may read it at the same time.
          const temp = `${file}.${process.pid}.tmp`;
          writeFileSync(temp, stripped, { mode: 0o600 });
          renameSync(temp, file);
        } catch {
          // A cache we cannot write only costs the stripping next time.
        }
      }
      return { format: 'module', source: stripped, shortCircuit: true };
    },
  });
  return true;
}
