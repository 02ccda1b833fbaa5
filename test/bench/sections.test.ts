// BENCHMARKS.md holds one section per bench; a bench rewrites its own section and keeps everything else
// (a full `npm run bench` once dropped the bulk rows by writing the whole file).
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { benchCommand, endMarker, replaceSection, startMarker, writeSection } from '../../bench/sections.ts';

const section = (name: string, body: string): string => `${startMarker(name, `written by npm run bench -- --only ${name}`)}\n${body}\n${endMarker(name)}`;

const DOC = [
  '# Benchmarks',
  '',
  'Intro written by hand.',
  '',
  section('speed', '## Speed\n\nold speed numbers'),
  '',
  section('bulk', '## Bulk runs\n\nbulk rows 300 x 100 KiB'),
  '',
  section('uploads', '## uploadBigFile\n\nold upload numbers'),
  '',
].join('\n');

describe('replaceSection', () => {
  it('replaces only the named section: the other sections and the text around them stay byte for byte', () => {
    const next = replaceSection(DOC, 'uploads', section('uploads', '## uploadBigFile\n\nnew upload numbers'));
    expect(next).toContain('new upload numbers');
    expect(next).not.toContain('old upload numbers');
    expect(next).toBe(DOC.replace('old upload numbers', 'new upload numbers'));
    const speed = replaceSection(DOC, 'speed', section('speed', '## Speed\n\nnew speed numbers'));
    expect(speed).toBe(DOC.replace('old speed numbers', 'new speed numbers'));
    expect(speed).toContain('bulk rows 300 x 100 KiB');
  });

  it('a start marker whose note changed is still the same section', () => {
    const doc = DOC.replace('written by npm run bench -- --only bulk', 'written by node bench/bulk.ts');
    const next = replaceSection(doc, 'bulk', section('bulk', 'new bulk rows'));
    expect(next).toContain('new bulk rows');
    expect(next).not.toContain('bulk rows 300');
    expect(next.match(/bulk:start/g)).toHaveLength(1);
  });

  it('appends a section the document does not have yet, and starts an empty document with it', () => {
    const next = replaceSection(DOC, 'hash', section('hash', 'hash rows'));
    expect(next.startsWith(DOC.trimEnd())).toBe(true);
    expect(next.trimEnd().endsWith(endMarker('hash'))).toBe(true);
    expect(replaceSection('', 'hash', section('hash', 'rows'))).toBe(`${section('hash', 'rows')}\n`);
  });

  it('refuses, changing nothing, unpaired or repeated markers and a section without its own markers', () => {
    const unpaired = DOC.replace(endMarker('bulk'), '');
    expect(() => replaceSection(unpaired, 'bulk', section('bulk', 'x'))).toThrow(/unpaired or repeated/);
    const repeated = `${DOC}\n${section('speed', 'again')}\n`;
    expect(() => replaceSection(repeated, 'speed', section('speed', 'x'))).toThrow(/unpaired or repeated/);
    expect(() => replaceSection(DOC, 'speed', 'no markers')).toThrow(/exactly one speed:start/);
    expect(() => replaceSection(DOC, 'speed', section('bulk', 'wrong name'))).toThrow(/exactly one speed:start/);
  });

  it('does not take one name for another that starts with it', () => {
    const doc = `${section('speed-extra', 'keep me')}\n\n${DOC}`;
    const next = replaceSection(doc, 'speed', section('speed', 'new'));
    expect(next).toContain('keep me');
    expect(next).toContain('new');
  });
});

describe('writeSection', () => {
  it('rewrites the file with the one section replaced, and creates a missing file', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 's3-to-box-sections-'));
    try {
      const file = path.join(dir, 'BENCHMARKS.md');
      await writeFile(file, DOC);
      await writeSection(file, 'speed', section('speed', 'fresh'));
      const text = await readFile(file, 'utf8');
      expect(text).toContain('fresh');
      expect(text).toContain('bulk rows 300 x 100 KiB');
      expect(text).toContain('old upload numbers');
      const created = path.join(dir, 'NEW.md');
      await writeSection(created, 'bulk', section('bulk', 'rows'));
      expect(await readFile(created, 'utf8')).toBe(`${section('bulk', 'rows')}\n`);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('benchCommand', () => {
  it('names no folder of the machine: path options show what they stand for, other options as given', () => {
    expect(benchCommand([])).toBe('npm run bench');
    expect(benchCommand(['--before', '../earlier-checkout', '--only', 'speed'])).toBe('npm run bench -- --before <checkout of the earlier commit> --only speed');
    expect(benchCommand(['--out=results/x.md', '--quick', '--cpu-prof', 'profiles'])).toBe('npm run bench -- --out=<file> --quick --cpu-prof <folder>');
  });
});
