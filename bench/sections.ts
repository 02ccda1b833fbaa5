// BENCHMARKS.md is written by several benches (the uploader comparison, the pipeline's speed, bulk runs),
// each into its own section between markers; a bench replaces its own section and nothing else, so a
// run of one never drops another's numbers.
//   <!-- NAME:start ... -->   (anything after the name up to -->, e.g. how the section was written)
//   ...
//   <!-- NAME:end -->
import { readFile, writeFile } from 'node:fs/promises';

export function startMarker(name: string, note: string): string {
  return `<!-- ${name}:start (${note}) -->`;
}

export function endMarker(name: string): string {
  return `<!-- ${name}:end -->`;
}

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * `document` with the section `name` replaced by `section` (which must carry its own start and end
 * markers), or with `section` appended when the document has none. Throws, changing nothing, when the
 * markers of `name` are unpaired or repeated in the document, or missing from `section`.
 */
export function replaceSection(document: string, name: string, section: string): string {
  const start = new RegExp(`<!-- ${escape(name)}:start\\b[^>]*-->`, 'g');
  const end = new RegExp(`<!-- ${escape(name)}:end -->`, 'g');
  const inSection = { starts: section.match(start)?.length ?? 0, ends: section.match(end)?.length ?? 0 };
  if (inSection.starts !== 1 || inSection.ends !== 1 || section.search(start) > section.search(end)) {
    throw new Error(`the ${name} section must hold exactly one ${name}:start marker before one ${name}:end marker`);
  }
  const starts = [...document.matchAll(start)];
  const ends = [...document.matchAll(end)];
  if (starts.length === 0 && ends.length === 0) return `${document.trimEnd()}${document.trim() === '' ? '' : '\n\n'}${section.trim()}\n`;
  const [a] = starts;
  const [b] = ends;
  if (starts.length !== 1 || ends.length !== 1 || a === undefined || b === undefined || a.index > b.index) {
    throw new Error(`the document's ${name} markers are unpaired or repeated (${starts.length} start, ${ends.length} end): fix them by hand`);
  }
  return document.slice(0, a.index) + section.trim() + document.slice(b.index + b[0].length);
}

/** Replaces (or appends) the section `name` of the Markdown file `file`, keeping the rest of the file. */
export async function writeSection(file: string, name: string, section: string): Promise<void> {
  const current = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'ENOENT') return '';
    throw err;
  });
  await writeFile(file, replaceSection(current, name, section));
}

/** What a path-valued option stands for in a written command line: BENCHMARKS.md names no folder of the machine it ran on. */
const PATH_OPTIONS: Record<string, string> = {
  '--before': '<checkout of the earlier commit>',
  '--out': '<file>',
  '--dir': '<folder>',
  '--cpu-prof': '<folder>',
};

/** `npm run bench -- ARGS` as BENCHMARKS.md shows it, with the values of path options replaced by what they stand for. */
export function benchCommand(argv: readonly string[]): string {
  const shown = argv.map((arg, i) => {
    const [name, value] = arg.split('=', 2);
    if (value !== undefined && name !== undefined && PATH_OPTIONS[name] !== undefined) return `${name}=${PATH_OPTIONS[name]}`;
    const previous = argv[i - 1];
    return previous !== undefined && PATH_OPTIONS[previous] !== undefined ? PATH_OPTIONS[previous] : arg;
  });
  return `npm run bench${shown.length > 0 ? ` -- ${shown.join(' ')}` : ''}`;
}
