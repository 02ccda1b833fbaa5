// RFC 4180 CSV rows (quoted fields with "" escapes and embedded newlines), one tokenizer for the manifest
// check before a run (src/bulk/manifest.ts) and the local ItemReader (local/runner/distributed-map.ts).

export interface CsvRow {
  fields: string[];
  /** The row ended with a line break; false for the last row of `text`, which may be cut short. */
  ended: boolean;
  /** Where the next row starts in `text` (past this row's line break): a reader of a stream keeps the rest. */
  end: number;
}

/** The rows of `text` in order; a CRLF ends a row once. The last row comes only if it holds anything. */
export function* csvRows(text: string): Generator<CsvRow> {
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"' && field === '') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field);
      yield { fields: row, ended: true, end: i + 1 };
      row = [];
      field = '';
    } else field += c;
  }
  if (field !== '' || row.length > 0) {
    row.push(field);
    yield { fields: row, ended: false, end: text.length };
  }
}
