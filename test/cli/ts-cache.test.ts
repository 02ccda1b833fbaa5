// bin/ts-cache.js: the CLI's modules are stripped of their types once, then served from a cache whose
// file names say which module and which exact source they were stripped from.
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { stripTypeScriptTypes } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
// @ts-expect-error -- plain JavaScript module of the CLI's launcher, without type declarations
import { typeScriptCacheKey } from '../../bin/ts-cache.js';
import pkg from '../../package.json' with { type: 'json' };
import { cli } from './run-cli.ts';

const cacheKey = typeScriptCacheKey as (url: string, source: string) => string;
const CLI_TS = path.resolve(import.meta.dirname, '../../local/cli.ts');

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
    const entry = path.join(cache, `${cacheKey(pathToFileURL(CLI_TS).href, source)}.js`);
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
    expect(cacheKey(url, 'const a: number = 1;')).toBe(cacheKey(url, 'const a: number = 1;'));
    expect(cacheKey(url, 'const a: number = 2;')).not.toBe(cacheKey(url, 'const a: number = 1;'));
    expect(cacheKey(`${url}x`, 'const a: number = 1;')).not.toBe(cacheKey(url, 'const a: number = 1;'));
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
