// bin/ts-cache.js: the CLI's modules are stripped of their types once, then served from a cache whose
// file names say which module and which exact source they were stripped from; a start that strips
// something drops what no start can use again.
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { stripTypeScriptTypes } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
// @ts-expect-error -- plain JavaScript module of the CLI's launcher, without type declarations
import { pruneTypeScriptCache, typeScriptCacheEntry } from '../../bin/ts-cache.js';
import pkg from '../../package.json' with { type: 'json' };
import { cli } from './run-cli.ts';

const cacheEntry = typeScriptCacheEntry as (root: string, url: string, source: string) => string | undefined;
const prune = pruneTypeScriptCache as (dir: string, root: string, options?: { versionFolders?: boolean; now?: number }) => Map<string, string[]>;
const ROOT = pathToFileURL(path.resolve(import.meta.dirname, '../..') + path.sep).href;
const CLI_TS = path.resolve(import.meta.dirname, '../../local/cli.ts');
const CLI_ENTRY = async (): Promise<string> => cacheEntry(ROOT, pathToFileURL(CLI_TS).href, await readFile(CLI_TS, 'utf8')) ?? '';
const OTHER_HASH = 'f'.repeat(64);

describe('the CLI\'s cache of stripped TypeScript', { timeout: 60_000 }, () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 's3-to-box-ts-cache-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps each module as Node strips it, quietly, and serves it from there on the next start', async () => {
    const cache = path.join(dir, 'cache');
    const first = await cli(['--version'], { S3_TO_BOX_TS_CACHE_DIR: cache });
    expect(first).toEqual({ code: 0, stdout: `${pkg.version}\n`, stderr: '' });

    const source = await readFile(CLI_TS, 'utf8');
    const entry = path.join(cache, await CLI_ENTRY());
    expect(path.basename(entry)).toMatch(/^local%2Fcli\.ts\.[0-9a-f]{64}\.js$/);
    expect(await readFile(entry, 'utf8')).toBe(stripTypeScriptTypes(source, { mode: 'strip' }));
    expect(((await stat(cache)).mode & 0o777).toString(8)).toBe('700');
    expect((await readdir(cache)).filter((f) => f.endsWith('.tmp'))).toEqual([]);

    // What the next start runs is the cached file, not a new stripping of the source.
    await writeFile(entry, 'process.stdout.write("served from the cache\\n");\n');
    const second = await cli(['--version'], { S3_TO_BOX_TS_CACHE_DIR: cache });
    expect(second).toEqual({ code: 0, stdout: 'served from the cache\n', stderr: '' });
  });

  it('names an entry by the module and its exact source, so an edited module is never served stale', () => {
    const url = pathToFileURL(CLI_TS).href;
    expect(cacheEntry(ROOT, url, 'const a: number = 1;')).toBe(cacheEntry(ROOT, url, 'const a: number = 1;'));
    expect(cacheEntry(ROOT, url, 'const a: number = 2;')).not.toBe(cacheEntry(ROOT, url, 'const a: number = 1;'));
    expect(cacheEntry(ROOT, pathToFileURL(path.resolve(import.meta.dirname, '../../local/cli/status.ts')).href, 'const a: number = 1;')).toMatch(/^local%2Fcli%2Fstatus\.ts\./);
    // A path too long to name a file by is not cached.
    expect(cacheEntry(ROOT, pathToFileURL(path.resolve(import.meta.dirname, `../../${'d/'.repeat(100)}m.ts`)).href, '')).toBeUndefined();
  });

  it('a start that finds every module touches nothing; one that strips a module drops its other entries, those of deleted modules and abandoned temporary files, and nothing else', async () => {
    const cache = path.join(dir, 'cache');
    expect((await cli(['--version'], { S3_TO_BOX_TS_CACHE_DIR: cache })).code).toBe(0);
    const filled = await readdir(cache);
    const current = await CLI_ENTRY();
    expect(filled).toContain(current);
    // What an earlier source of local/cli.ts, a module since deleted and a killed start left, beside what is not the cache's.
    const stale = `local%2Fcli.ts.${OTHER_HASH}.js`;
    const gone = `local%2Fgone.ts.${OTHER_HASH}.js`;
    const oldTemp = `${gone}.4242.tmp`;
    const freshTemp = `${stale}.4243.tmp`;
    for (const name of [stale, gone, oldTemp, freshTemp, 'notes.txt']) await writeFile(path.join(cache, name), '');
    const hourAgo = new Date(Date.now() - 60 * 60 * 1000);
    await utimes(path.join(cache, oldTemp), hourAgo, hourAgo);
    await mkdir(path.join(cache, 'v22.0.0'));
    const planted = [...filled, stale, gone, oldTemp, freshTemp, 'notes.txt', 'v22.0.0'].sort();

    expect(await cli(['--version'], { S3_TO_BOX_TS_CACHE_DIR: cache })).toEqual({ code: 0, stdout: `${pkg.version}\n`, stderr: '' });
    expect((await readdir(cache)).sort()).toEqual(planted);

    // local/cli.ts missing from the cache: this start strips it, and prunes.
    await rm(path.join(cache, current));
    expect(await cli(['--version'], { S3_TO_BOX_TS_CACHE_DIR: cache })).toEqual({ code: 0, stdout: `${pkg.version}\n`, stderr: '' });
    const after = (await readdir(cache)).sort();
    // A folder named by the env is the user's: version folders stay there (the default folder drops them).
    expect(after).toEqual([...filled, freshTemp, 'notes.txt', 'v22.0.0'].sort());
    // One entry per module.
    const modules = after.filter((n) => n.endsWith('.js')).map((n) => n.replace(/\.[0-9a-f]{64}\.js$/, ''));
    expect(new Set(modules).size).toBe(modules.length);
  });

  it('in the default folder also drops the per-Node-version folders of the earlier layout; names it does not make stay', async () => {
    const root = path.join(dir, 'root');
    await mkdir(path.join(root, 'src'), { recursive: true });
    await writeFile(path.join(root, 'src', 'kept.ts'), 'export const a: number = 1;\n');
    const cache = path.join(dir, 'cache');
    await mkdir(path.join(cache, 'v22.18.0'), { recursive: true });
    await writeFile(path.join(cache, 'v22.18.0', `${'a'.repeat(64)}.js`), '');
    await mkdir(path.join(cache, 'v22-notes'));
    const kept = `src%2Fkept.ts.${OTHER_HASH}.js`;
    const removed = `src%2Fremoved.ts.${OTHER_HASH}.js`;
    for (const name of [kept, removed, `%E0%A4%A.${OTHER_HASH}.js`, 'x.js.1.tmp']) await writeFile(path.join(cache, name), '');
    const rootUrl = pathToFileURL(root + path.sep).href;

    const byModule = prune(cache, rootUrl, { versionFolders: true, now: Date.now() + 60 * 60 * 1000 });
    expect(byModule).toEqual(new Map([['src/kept.ts', [kept]]]));
    // A malformed module part and a temporary name it does not make are not its own: left as they are.
    expect((await readdir(cache)).sort()).toEqual([`%E0%A4%A.${OTHER_HASH}.js`, kept, 'v22-notes', 'x.js.1.tmp'].sort());
  });

  it('is not used when others may write to its folder, and a folder it cannot make costs nothing but the cache', async () => {
    const shared = path.join(dir, 'shared');
    await mkdir(shared);
    await chmod(shared, 0o777);
    const open = await cli(['--version'], { S3_TO_BOX_TS_CACHE_DIR: shared });
    expect(open).toEqual({ code: 0, stdout: `${pkg.version}\n`, stderr: '' });
    expect(await readdir(shared)).toEqual([]);

    const blocked = path.join(dir, 'a-file');
    await writeFile(blocked, '');
    const noDir = await cli(['--version'], { S3_TO_BOX_TS_CACHE_DIR: path.join(blocked, 'cache') });
    expect(noDir).toEqual({ code: 0, stdout: `${pkg.version}\n`, stderr: '' });
  });
});
