// Small numeric helpers and formats for the bench tables.
export const MiB = 1024 * 1024;
export const GiB = 1024 * MiB;

/**
 * The median of the values measured: NaN values (not measured) are left out; with an even count, the mean of
 * the two middle values; NaN when nothing is left.
 */
export function median(values: number[]): number {
  const sorted = values.filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function min(values: number[]): number {
  return values.length === 0 ? Number.NaN : Math.min(...values);
}

function max(values: number[]): number {
  return values.length === 0 ? Number.NaN : Math.max(...values);
}

export function mibPerSecond(bytes: number, ms: number): number {
  return bytes / MiB / (ms / 1000);
}

/** "123.4" (or "n/a"). */
export function fixed(value: number, digits = 1): string {
  return Number.isFinite(value) ? value.toFixed(digits) : 'n/a';
}

/** "min–max" of the finite values (with a unit after them), or 'n/a'. */
export function range(values: number[], digits = 1, unit = ''): string {
  const f = values.filter(Number.isFinite);
  return f.length === 0 ? 'n/a' : `${fixed(Math.min(...f), digits)}–${fixed(Math.max(...f), digits)}${unit}`;
}

/** "median (min-max)" of a sample, or just the value for one run. */
export function spread(values: number[], digits = 1): string {
  if (values.length <= 1) return fixed(values[0] ?? Number.NaN, digits);
  return `${fixed(median(values), digits)} (${fixed(min(values), digits)}–${fixed(max(values), digits)})`;
}

/** Memory that gives a Lambda function one full vCPU (AWS's Lambda guide). */
export const MB_PER_VCPU = 1769;

export function mib(bytes: number, digits = 0): string {
  return `${fixed(bytes / MiB, digits)} MiB`;
}

/** 268435456 -> "256 MiB", 1073741824 -> "1 GiB", otherwise bytes. */
export function sizeLabel(bytes: number): string {
  if (bytes % (1024 * MiB) === 0) return `${bytes / (1024 * MiB)} GiB`;
  if (bytes % MiB === 0) return `${bytes / MiB} MiB`;
  return `${bytes} B`;
}


/** A plain-text table with aligned columns (for the terminal); the markdown one is `markdownTable`. */
export function textTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

/** A Markdown table (the one every bench section uses). */
export function markdownTable(header: string[], rows: (string | number)[][]): string {
  const line = (cells: (string | number)[]): string => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}
