// Where an object lands: the Box folder path (below the run's destination folder) and the file name,
// from its key, the run's base prefix and the layout.
import { InvalidInputError } from '../transfer/errors.ts';
import type { SyncLayout } from './contract.ts';
import { boxNameForSegment } from '../box/names.ts';

export interface Placement {
  /** Folder names from the destination folder down (empty: the destination folder itself). */
  folders: string[];
  fileName: string;
}

/** The part of a prefix that mirrored paths start below: up to and including its last '/' ("" if none). */
export function basePrefixOf(prefix: string): string {
  return prefix.slice(0, prefix.lastIndexOf('/') + 1);
}

/** True for a key that only marks a folder (ends in '/'): nothing to copy, the folder is created by its files. */
export function isFolderMarker(key: string): boolean {
  return key.endsWith('/');
}

/** The Box placement of `key`; throws Transfer.InvalidInput for a key outside the base prefix or a folder marker. */
export function placementOf(key: string, basePrefix: string, layout: SyncLayout): Placement {
  if (!key.startsWith(basePrefix)) throw new InvalidInputError(`key ${JSON.stringify(key)} is not below the prefix ${JSON.stringify(basePrefix)}`);
  if (isFolderMarker(key)) throw new InvalidInputError(`key ${JSON.stringify(key)} is a folder marker, not an object to copy`);
  const segments = key.slice(basePrefix.length).split('/').map(boxNameForSegment);
  const fileName = segments.pop() ?? '_';
  return { folders: layout === 'flat' ? [] : segments, fileName };
}
