// The check for keys a manifest lists twice reads the list in pieces as S3 sends them: wherever a piece
// ends (inside a quoted CSV field, between the CR and LF of a row, inside a JSONL line), it finds the
// same key on the same lines or rows as in one piece, and passes a list of distinct keys.
import { describe, expect, it } from 'vitest';
import { checkKeysListedOnce } from '../../src/bulk/manifest.ts';

/** `text` cut at `at` (and, when given, at `second`). */
function pieces(text: string, at: number, second?: number): string[] {
  if (second === undefined) return [text.slice(0, at), text.slice(at)];
  return [text.slice(0, at), text.slice(at, second), text.slice(second)];
}

async function refusal(format: 'jsonl' | 'csv', chunks: string[]): Promise<string | undefined> {
  return checkKeysListedOnce({ bucket: 'lists', key: 'm', format }, chunks, 1_000_000).then(
    () => undefined,
    (e: unknown) => `${(e as Error).name}: ${(e as Error).message}`,
  );
}

describe('checkKeysListedOnce', () => {
  const csv = 'size,key\r\n1,"x/a,\r\nb ""q"".txt"\r\n2,x/c.txt\r\n\r\n3,"x/a,\r\nb ""q"".txt"\r\n4,x/d.txt';
  const jsonl = '{"key":"x/a.txt"}\r\n\n{"key":"x/b.txt","size":1}\n{"Key":"x/a.txt"}\nnot json\n{"key":"x/e.txt"}';

  it('names a CSV key listed twice and its rows, wherever the pieces end', async () => {
    const whole = await refusal('csv', [csv]);
    expect(whole).toBe(
      'Transfer.InvalidInput: source.manifest s3://lists/m (format csv) lists the key "x/a,\\r\\nb \\"q\\".txt" twice, on rows 2 and 5 (the header is row 1): each object is copied by a transfer named from its key, so each key may be listed once (keep one of the two; a manifest copies one version of a key). Expected: a header row naming the columns, key required (versionId and size optional), then one object a row',
    );
    for (let at = 0; at <= csv.length; at++) expect(await refusal('csv', pieces(csv, at)), `cut at ${at}`).toBe(whole);
    for (let at = 0; at <= csv.length; at += 3) expect(await refusal('csv', pieces(csv, at, Math.min(csv.length, at + 7))), `cut at ${at}, ${at + 7}`).toBe(whole);
  });

  it('names a JSONL key listed twice (as key or Key) and its lines as an editor counts them, wherever the pieces end', async () => {
    const whole = await refusal('jsonl', [jsonl]);
    expect(whole).toContain('lists the key "x/a.txt" twice, on lines 1 and 4:');
    for (let at = 0; at <= jsonl.length; at++) expect(await refusal('jsonl', pieces(jsonl, at)), `cut at ${at}`).toBe(whole);
  });

  it('passes lists of distinct keys, however cut (a line it cannot read is left to the ItemReader)', async () => {
    const distinctCsv = csv.replace('3,"x/a', '3,"x/A'); // S3 keys differ by case
    const distinctJsonl = jsonl.replace('{"Key":"x/a.txt"}', '{"Key":"x/A.txt"}');
    for (let at = 0; at <= distinctCsv.length; at++) expect(await refusal('csv', pieces(distinctCsv, at)), `cut at ${at}`).toBeUndefined();
    for (let at = 0; at <= distinctJsonl.length; at++) expect(await refusal('jsonl', pieces(distinctJsonl, at)), `cut at ${at}`).toBeUndefined();
  });
});

describe('the cap on the keys a manifest lists', () => {
  const jsonlOf = (keys: string[]): string => keys.map((k) => `{"key":"${k}"}\n`).join('');
  const csvOf = (keys: string[]): string => `key\n${keys.map((k) => `${k}\n`).join('')}`;
  const keys = (n: number): string[] => Array.from({ length: n }, (_, i) => `x/k-${i}.txt`);
  const check = (format: 'jsonl' | 'csv', text: string, maxKeys: number): Promise<string | undefined> =>
    checkKeysListedOnce({ bucket: 'lists', key: 'm', format }, [text.slice(0, 7), text.slice(7)], maxKeys).then(
      () => undefined,
      (e: unknown) => `${(e as Error).name}: ${(e as Error).message}`,
    );

  it('passes a list of exactly the cap, and refuses one more key with Transfer.InvalidInput saying to split it', async () => {
    for (const [format, of] of [['jsonl', jsonlOf], ['csv', csvOf]] as const) {
      expect(await check(format, of(keys(5)), 5), format).toBeUndefined();
      const refused = await check(format, of(keys(6)), 5);
      expect(
        refused?.startsWith(
          `Transfer.InvalidInput: source.manifest s3://lists/m (format ${format}) lists more than 5 keys, more than a run checks for keys listed twice: split it into manifests of at most that many keys, one run each. Expected: `,
        ),
        refused,
      ).toBe(true);
    }
  });

  it('counts keys, not lines: a key listed twice within the cap is named as such, blank lines and unreadable ones count for nothing', async () => {
    const text = `${jsonlOf(keys(3))}\nnot json\n${jsonlOf(['x/k-1.txt'])}`;
    expect(await check('jsonl', text, 3)).toContain('lists the key "x/k-1.txt" twice, on lines 2 and 6');
    expect(await check('jsonl', `${jsonlOf(keys(3))}\n\nnot json\n`, 3)).toBeUndefined();
  });
});
