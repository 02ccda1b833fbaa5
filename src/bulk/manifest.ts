// The manifest of a bulk run, checked before anything is listed (PlanSync): a list the Distributed Map's
// ItemReader cannot read, or whose items carry no key, is refused at once with Transfer.InvalidInput naming
// the manifest, its format and what is missing. Otherwise AWS fails the whole run later with its own
// ItemReader message (which names neither the key nor the line), or every item fails alone: for a list of
// two million lines, two million report lines before anyone learns the header is wrong.
//
// Only the start of a JSONL or CSV manifest is read (the ItemReader reads the rest): every complete line of
// its first 256 KiB for JSONL, the header row for CSV. An Inventory's manifest.json is read whole (it lists
// the inventory's files, not the keys).
import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { S3Client } from '@aws-sdk/client-s3';
import { InvalidInputError } from '../transfer/errors.ts';
import { withinRequestBudget } from '../transfer/request-budget.ts';
import { mapS3Error } from '../transfer/s3source.ts';
import type { ManifestSource } from './contract.ts';
import { csvRows } from './csv.ts';

/** A Distributed Map item is at most 256 KiB: a longer JSONL line cannot be an item. */
const HEAD_BYTES = 256 * 1024;
/** An Inventory manifest.json lists its files; this is far more than any real one. */
const INVENTORY_MANIFEST_MAX_BYTES = 16 * 1024 * 1024;

type Manifest = ManifestSource['manifest'];

const FORMAT_HELP: Record<Manifest['format'], string> = {
  jsonl: 'one JSON object a line, {"key": "...", "versionId"?: "...", "size"?: n}',
  csv: 'a header row naming the columns, key required (versionId and size optional), then one object a row',
  inventory: 'the manifest.json of an S3 Inventory report in CSV format, whose fileSchema names Key',
};

function refuse(manifest: Manifest, what: string): InvalidInputError {
  return new InvalidInputError(
    `source.manifest s3://${manifest.bucket}/${manifest.key} (format ${manifest.format}) ${what}. Expected: ${FORMAT_HELP[manifest.format]}`,
  );
}

/** The object's first `bytes` bytes (all of it when shorter), and whether that is all of it. */
async function readStart(s3: S3Client, manifest: Manifest, bytes: number): Promise<{ text: string; whole: boolean }> {
  const where = { bucket: manifest.bucket, key: manifest.key };
  try {
    return await withinRequestBudget(`GetObject s3://${manifest.bucket}/${manifest.key}`, undefined, async (abortSignal) => {
      const res = await s3.send(new GetObjectCommand({ Bucket: manifest.bucket, Key: manifest.key, Range: `bytes=0-${bytes - 1}` }), { abortSignal });
      // Bytes, then text: a TextDecoder would drop a byte order mark that the ItemReader does not.
      const text = res.Body === undefined ? '' : Buffer.from(await res.Body.transformToByteArray()).toString('utf8');
      // 206 names the whole size in Content-Range ("bytes 0-N/TOTAL"); 200 (a server that ignores Range, or
      // an object that is shorter) sends all of it.
      const total = Number(/\/(\d+)$/.exec(res.ContentRange ?? '')?.[1] ?? Number.NaN);
      return { text, whole: !(total > bytes) };
    });
  } catch (err) {
    const mapped = mapS3Error(err, where, false);
    if (mapped instanceof Error && mapped.name.startsWith('Transfer.') && mapped.name !== 'Transfer.Deadline') {
      mapped.message = `source.manifest: ${mapped.message}`;
    }
    throw mapped;
  }
}

function hasKey(item: Record<string, unknown>): boolean {
  return [item['key'], item['Key']].some((k) => typeof k === 'string' && k !== '');
}

function fieldsOf(value: unknown): string {
  const names = Object.keys(value as object);
  return names.length === 0 ? 'no fields' : `fields ${names.slice(0, 10).join(', ')}`;
}

function checkJsonl(manifest: Manifest, text: string, whole: boolean): void {
  const lines = text.split('\n');
  // The last piece of a partial read may be a line cut short: only complete lines are checked.
  const complete = whole ? lines : lines.slice(0, -1);
  if (!whole && complete.length === 0) refuseLongLine(manifest);
  complete.forEach((raw, i) => {
    const line = raw.replace(/\r$/, '');
    if (line.trim() === '') return;
    const n = i + 1;
    let item: unknown;
    try {
      item = JSON.parse(line);
    } catch (err) {
      const bom = line.startsWith('\uFEFF') ? ' (the file starts with a byte order mark: save it without one)' : '';
      throw refuse(manifest, `line ${n} is not JSON (${(err as Error).message}): ${JSON.stringify(line.slice(0, 80))}${bom}`);
    }
    if (typeof item !== 'object' || item === null || Array.isArray(item)) throw refuse(manifest, `line ${n} is not a JSON object`);
    if (!hasKey(item as Record<string, unknown>)) throw refuse(manifest, `line ${n} has no "key" (found ${fieldsOf(item)})`);
  });
}

function refuseLongLine(manifest: Manifest): never {
  throw refuse(manifest, `has a first line longer than ${HEAD_BYTES} bytes (a Distributed Map item is at most 256 KiB)`);
}

/** The fields of the first CSV row of `text`; undefined when the row does not end within it. */
function firstCsvRow(text: string, whole: boolean): string[] | undefined {
  const first = csvRows(text).next();
  if (first.done === true) return whole ? [''] : undefined;
  return first.value.ended || whole ? first.value.fields : undefined;
}

function checkCsv(manifest: Manifest, text: string, whole: boolean): void {
  if (text.trim() === '') return; // an empty list: nothing to copy
  const header = firstCsvRow(text, whole);
  if (header === undefined) throw refuse(manifest, `has a header row longer than ${HEAD_BYTES} bytes`);
  // Names as the ItemReader takes them: untrimmed, a byte order mark part of the first one.
  const names = header;
  if (names.includes('key') || names.includes('Key')) return;
  const hint = text.startsWith('\uFEFF') ? ' (the file starts with a byte order mark: save it without one)' : '';
  throw refuse(manifest, `has no "key" column in its header row (found ${names.map((n) => JSON.stringify(n)).join(',')})${hint}`);
}

function checkInventory(manifest: Manifest, text: string, whole: boolean): void {
  if (!whole) throw refuse(manifest, `is larger than ${INVENTORY_MANIFEST_MAX_BYTES} bytes: not an S3 Inventory manifest.json`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw refuse(manifest, `is not JSON (${(err as Error).message})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw refuse(manifest, 'is not a JSON object');
  const m = parsed as Record<string, unknown>;
  const format = m['fileFormat'];
  if (format !== undefined && String(format).toUpperCase() !== 'CSV') {
    throw refuse(manifest, `lists ${String(format)} files; a Distributed Map reads CSV inventories only (set the inventory's output format to CSV)`);
  }
  const schema = typeof m['fileSchema'] === 'string' ? m['fileSchema'].split(',').map((s) => s.trim()) : undefined;
  if (schema === undefined) throw refuse(manifest, 'has no "fileSchema" (the columns of its CSV files)');
  if (!schema.includes('Key')) throw refuse(manifest, `has a fileSchema without Key (found ${JSON.stringify(m['fileSchema'])})`);
  const files = m['files'];
  if (!Array.isArray(files)) throw refuse(manifest, 'has no "files" list');
  const bad = files.findIndex((f) => typeof f !== 'object' || f === null || typeof (f as Record<string, unknown>)['key'] !== 'string');
  if (bad >= 0) throw refuse(manifest, `has an entry of "files" without a "key" (files[${bad}])`);
}

/**
 * Reads as much of the manifest as tells whether the ItemReader can read it and its items name keys;
 * throws Transfer.InvalidInput naming the manifest, its format and what is missing. S3 errors are the
 * transfer's (Transfer.SourceNotFound, Transfer.SourceAccessDenied, Transfer.S3Throttled, Transfer.Deadline).
 */
export async function checkManifest(s3: S3Client, manifest: Manifest): Promise<void> {
  if (manifest.format === 'inventory') {
    const { text, whole } = await readStart(s3, manifest, INVENTORY_MANIFEST_MAX_BYTES);
    checkInventory(manifest, text, whole);
  } else {
    const { text, whole } = await readStart(s3, manifest, HEAD_BYTES);
    if (manifest.format === 'jsonl') checkJsonl(manifest, text, whole);
    else checkCsv(manifest, text, whole);
  }
}
