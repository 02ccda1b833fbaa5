// The CLI's TypeScript, stripped once and kept. Node strips the types of every .ts module on every start
// (its compile cache keeps V8's code, not the stripped source): a CPU profile of a start put it at about a
// sixth of the CLI's CPU before its first request. This load hook keeps each project module's stripped source in
// node_modules/.cache, in a file named by the module's path and a hash of its exact source and the Node
// version, so an edited file is stripped again and a stale one is never used. Anything unusual (no writable
// cache folder, a folder someone else owns or may write to) leaves stripping to Node as before.
//
// Pruning costs nothing on a start that finds every module: only a start that strips something (an edited
// module, a new Node, a first run) lists the folder, once, and drops what no start can use again: the other
// entries of each module it strips, the entries of modules that no longer exist, temporary files a killed
// start left, and the per-Node-version folders of the earlier layout. So the folder holds about one entry per
// module. Deleting what another start reads is safe: it reads a whole file or none, and then strips again.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { registerHooks, stripTypeScriptTypes } from 'node:module';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

// `<module path from the root, URI-encoded>.<sha256 hex>.js`, and its temporary `<entry>.<pid>.tmp`.
const ENTRY = /^(.+)\.([0-9a-f]{64})\.js$/;
const TEMPORARY = /^(.+\.[0-9a-f]{64}\.js)\.\d+\.tmp$/;
// The earlier layout kept a folder per Node version (v22.18.0) in the default folder.
const VERSION_FOLDER = /^v\d+\.\d+\.\d+$/;
/** A temporary file older than this belongs to no start still writing it. */
const ABANDONED_TEMPORARY_MS = 10 * 60 * 1000;
/** Longest module part of a file name (names may have 255 bytes): a longer path is not cached. */
const MAX_MODULE_PART = 180;

/** The folder the stripped sources of `root` (a folder URL ending in /) go to, unless the env names one. */
function typeScriptCacheDir(root, env = process.env) {
  return env.S3_TO_BOX_TS_CACHE_DIR || join(fileURLToPath(root), 'node_modules', '.cache', 's3-to-box-ts');
}

/**
 * The cache file name of a module of `root`: which module (its path from the root) and which exact source
 * and Node stripped it. Undefined for a path too long to name a file by.
 */
export function typeScriptCacheEntry(root, url, source) {
  const modulePart = encodeURIComponent(relative(fileURLToPath(root), fileURLToPath(url)).split(sep).join('/'));
  if (modulePart.length > MAX_MODULE_PART) return undefined;
  const hash = createHash('sha256').update(process.version).update('\0').update(source).digest('hex');
  return `${modulePart}.${hash}.js`;
}

/** The module path (from the root) an entry's name names, or undefined for a name that is not an entry. */
function moduleOf(name) {
  const match = ENTRY.exec(name);
  if (match === null) return undefined;
  try {
    return decodeURIComponent(match[1]);
  } catch {
    return undefined;
  }
}

/**
 * Drops what no start can use again from the cache folder `dir` of `root` (a folder URL): entries of modules
 * that no longer exist, temporary files older than ten minutes, and (`versionFolders`, the default folder
 * only) the earlier layout's per-Node-version folders. Touches only names this cache makes. Returns the
 * entries left, by module path, for `dropOtherEntries`.
 */
export function pruneTypeScriptCache(dir, root, { versionFolders = false, now = Date.now() } = {}) {
  const rootPath = fileURLToPath(root);
  const byModule = new Map();
  const exists = new Map();
  for (const dirent of readdirSync(dir, { withFileTypes: true })) {
    const name = dirent.name;
    const path = join(dir, name);
    try {
      if (dirent.isDirectory()) {
        if (versionFolders && VERSION_FOLDER.test(name)) rmSync(path, { recursive: true, force: true });
        continue;
      }
      if (!dirent.isFile()) continue;
      if (TEMPORARY.test(name)) {
        if (now - statSync(path).mtimeMs > ABANDONED_TEMPORARY_MS) unlinkSync(path);
        continue;
      }
      const modulePath = moduleOf(name);
      if (modulePath === undefined) continue;
      if (!exists.has(modulePath)) exists.set(modulePath, existsSync(join(rootPath, modulePath)));
      if (!exists.get(modulePath)) {
        unlinkSync(path);
        continue;
      }
      byModule.set(modulePath, [...(byModule.get(modulePath) ?? []), name]);
    } catch {
      // Gone already (another start pruned it), or not ours to remove: left as it is.
    }
  }
  return byModule;
}

/** Removes the entries of `entry`'s module other than `entry` (listed in `byModule`) from `dir`. */
function dropOtherEntries(dir, byModule, entry) {
  const modulePath = moduleOf(entry);
  for (const name of byModule.get(modulePath) ?? []) {
    if (name === entry) continue;
    try {
      unlinkSync(join(dir, name));
    } catch {
      // Gone already.
    }
  }
  byModule.set(modulePath, [entry]);
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
  let listed; // the folder's entries by module, from this start's first miss on
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
      const entry = typeScriptCacheEntry(root, url, source);
      if (entry === undefined) return nextLoad(url, context);
      const file = join(dir, entry);
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
          listed ??= pruneTypeScriptCache(dir, root, { versionFolders: !env.S3_TO_BOX_TS_CACHE_DIR });
          dropOtherEntries(dir, listed, entry);
        } catch {
          // A cache we cannot write only costs the stripping next time.
        }
      }
      return { format: 'module', source: stripped, shortCircuit: true };
    },
  });
  return true;
}
