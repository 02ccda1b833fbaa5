// How the bench starts an earlier checkout's child: as that checkout's own CLI started its process.
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkoutOf, childEntryOf, runnerNodeFlags } from '../../bench/jobs.ts';

let root: string;

beforeAll(async () => {
  root = await mkdtemp(path.join(os.tmpdir(), 's3-to-box-child-entry-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function checkout(name: string, files: Record<string, string>): Promise<string> {
  const dir = path.join(root, name);
  for (const [file, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, file)), { recursive: true });
    await writeFile(path.join(dir, file), text);
  }
  return dir;
}

describe('childEntryOf', () => {
  it('takes a checkout\'s own bench/child-start.js when it has one', async () => {
    const dir = await checkout('current', { 'bench/child-start.js': '', 'bench/child.ts': '' });
    expect(childEntryOf(dir)).toBe(path.join(dir, 'bench/child-start.js'));
    expect(checkoutOf(childEntryOf(dir))).toBe(dir);
  });

  it('starts an earlier checkout with the caches its CLI turned on, then its bench/child.ts', async () => {
    const cli = "enableCompileCache?.();\nconst { registerTypeScriptCache } = await import('./ts-cache.js');\n";
    const flags = JSON.stringify({ flags: ['--initial-heap-size=128'] });
    const dir = await checkout('earlier', { 'bin/s3-to-box.js': cli, 'bin/ts-cache.js': '', 'bench/child.ts': '', 'local/runner/node-flags.json': flags });
    const entry = childEntryOf(dir);
    expect(entry.endsWith('.mjs')).toBe(true);
    const text = await readFile(entry, 'utf8');
    expect(text).toContain('enableCompileCache?.();');
    expect(text).toContain(`await import(${JSON.stringify(pathToFileURL(path.join(dir, 'bin/ts-cache.js')).href)})`);
    expect(text).toContain(`registerTypeScriptCache(${JSON.stringify(pathToFileURL(dir + path.sep).href)})`);
    expect(text.trim().split('\n').at(-1)).toBe(`await import(${JSON.stringify(pathToFileURL(path.join(dir, 'bench/child.ts')).href)});`);
    // One entry per checkout, which still starts with that checkout's runner flags.
    expect(childEntryOf(dir)).toBe(entry);
    expect(checkoutOf(entry)).toBe(dir);
    expect(runnerNodeFlags(checkoutOf(entry))).toEqual(['--initial-heap-size=128']);
  });

  it('starts a checkout whose CLI had neither cache from its bench/child.ts', async () => {
    const dir = await checkout('oldest', { 'bin/s3-to-box.js': "await import('../local/cli.ts');\n", 'bench/child.ts': '' });
    expect(childEntryOf(dir)).toBe(path.join(dir, 'bench/child.ts'));
  });
});
