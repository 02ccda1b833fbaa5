// Where a routed object lands below its route's Box folder. Names come from the key's segments, mapped
// by boxNameForSegment (src/box/names.ts, shared with bulk runs) when Box would reject them.
//
//   mirror (default)  the key's path below the route prefix's last '/' becomes Box subfolders:
//                     route prefix "exports/", key "exports/sales/q1/report.csv" -> sales/q1/report.csv
//   flat              every object directly in the route's folder, named by the key's last segment; two
//                     keys with one name become versions of one Box file (only this layout allows that)
//   a template        one file name from placeholders: {dir} (the folders below the prefix joined by
//                     "_"), {name} (the last segment), {stem} and {ext} (the name without and with only
//                     its extension, ".csv"); e.g. "{dir}_{name}" -> sales_q1_report.csv, in the folder
import { boxNameForSegment } from '../box/names.ts';

/** `mirror`, `flat`, or a file name template with at least one placeholder. */
export type RouteLayout = string;

const TEMPLATE_PLACEHOLDERS = ['dir', 'name', 'stem', 'ext'] as const;
const PLACEHOLDER = /\{([^{}]*)\}/g;

/** Why `layout` is unusable (a sentence to follow the field name), or undefined when it is fine. */
export function layoutProblem(layout: string): string | undefined {
  if (layout === 'mirror' || layout === 'flat') return undefined;
  const known = TEMPLATE_PLACEHOLDERS.map((p) => `{${p}}`).join(', ');
  const used = [...layout.matchAll(PLACEHOLDER)].map((m) => m[1] ?? '');
  if (used.length === 0) return `must be "mirror", "flat" or a file name template using ${known}`;
  const unknown = used.find((p) => !(TEMPLATE_PLACEHOLDERS as readonly string[]).includes(p));
  if (unknown !== undefined) return `uses {${unknown}}: the placeholders are ${known}`;
  const literal = layout.replace(PLACEHOLDER, '');
  if (/[{}]/.test(literal)) return 'has an unmatched "{" or "}"';
  if (/[/\\]/.test(literal)) return 'must not contain "/" or "\\" (a template names a file, not folders)';
  return undefined;
}

/** The Box folders (below the route's folder, '/'-joined, absent for none) and the file name of a key. */
export interface Placement {
  folderPath?: string;
  fileName: string;
}

/** The place of `key` under a route of prefix `routePrefix` with `layout` (checked by layoutProblem). */
export function placementFor(key: string, routePrefix: string, layout: RouteLayout): Placement {
  const base = routePrefix.slice(0, routePrefix.lastIndexOf('/') + 1);
  const relative = key.startsWith(base) ? key.slice(base.length) : key;
  const segments = relative.split('/');
  const last = segments.pop() ?? '';
  if (layout === 'flat') return { fileName: boxNameForSegment(last) };
  if (layout === 'mirror') {
    const folders = segments.map(boxNameForSegment);
    return { ...(folders.length > 0 ? { folderPath: folders.join('/') } : {}), fileName: boxNameForSegment(last) };
  }
  const dot = last.lastIndexOf('.');
  const values: Record<string, string> = {
    dir: segments.join('_'),
    name: last,
    stem: dot > 0 ? last.slice(0, dot) : last,
    ext: dot > 0 ? last.slice(dot) : '',
  };
  return { fileName: boxNameForSegment(layout.replace(PLACEHOLDER, (_, p: string) => values[p] ?? '')) };
}
