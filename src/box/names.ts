// Box's item-name rules, for every entry point. A typed name Box would refuse is refused with a message
// (boxNameProblem, README "Input"); a name taken from an S3 key is mapped instead: a key is '/'-separated,
// each segment becomes a Box folder name (or, the last, the file name), and a segment Box would refuse is
// mapped in one predictable way (never skipped silently), documented in README "Names from keys":
//   - an empty segment (`a//b`, or a key starting with '/')  -> `_`
//   - `.` and `..`                                              -> `_` and `__`
//   - `\` and control characters (U+0000-U+001F, U+007F)       -> `_`
//   - leading and trailing whitespace                          -> each whitespace character becomes `_`
//   - longer than 255 characters                               -> cut, keeping the extension, plus `~` and the
//                                                                first 8 hex digits of the SHA-1 of the segment
// Everything else (unicode, spaces inside, `+`, `%`) is kept as is.
import { createHash } from 'node:crypto';

export const MAX_BOX_NAME_LENGTH = 255;

// eslint-disable-next-line no-control-regex -- control characters are exactly what Box refuses
const CONTROL_OR_BACKSLASH = /[\\\u0000-\u001f\u007f]/g;

/** The Box name for one key segment (identity for a name Box accepts). */
export function boxNameForSegment(segment: string): string {
  if (segment === '') return '_';
  if (segment === '.') return '_';
  if (segment === '..') return '__';
  let name = segment.replace(CONTROL_OR_BACKSLASH, '_');
  const lead = name.length - name.trimStart().length;
  const trail = name.length - name.trimEnd().length;
  if (lead > 0 || trail > 0) {
    if (lead === name.length) name = '_'.repeat(name.length);
    else name = '_'.repeat(lead) + name.slice(lead, name.length - trail) + '_'.repeat(trail);
  }
  if (name.length > MAX_BOX_NAME_LENGTH) {
    const tag = `~${createHash('sha1').update(segment).digest('hex').slice(0, 8)}`;
    const dot = name.lastIndexOf('.');
    const ext = dot > 0 && name.length - dot <= 16 ? name.slice(dot) : '';
    let stem = name.slice(0, MAX_BOX_NAME_LENGTH - tag.length - ext.length);
    // Do not cut a surrogate pair in half, nor end on whitespace.
    if (/[\ud800-\udbff]$/.test(stem)) stem = stem.slice(0, -1);
    stem = stem.replace(/\s+$/, (s) => '_'.repeat(s.length));
    name = `${stem}${tag}${ext}`;
  }
  return name;
}

/** True when Box would accept `name` as an item name (the rules boxNameForSegment maps away). */
export function isBoxName(name: string): boolean {
  return boxNameForSegment(name) === name;
}

/** Why Box would refuse `name` as an item name, or undefined when it accepts it. */
export function boxNameProblem(name: string): string | undefined {
  if (isBoxName(name)) return undefined;
  if (name === '') return 'is empty';
  if (name === '.' || name === '..') return `is ${JSON.stringify(name)}`;
  if (name.search(CONTROL_OR_BACKSLASH) !== -1) return "holds a '\\' or a control character";
  if (name.trim() !== name) return 'starts or ends with whitespace';
  if (name.length > MAX_BOX_NAME_LENGTH) return `is ${name.length} characters long (Box takes at most ${MAX_BOX_NAME_LENGTH})`;
  return 'is not a name Box accepts';
}
