// The part of the Box client a bulk run uses beyond the one-object transfer's: folder listings and
// creation, and the metadata that records where a file came from.
import type { FoldersManager } from '../box/folders.ts';
import type { MetadataManager } from '../box/metadata.ts';
import type { BoxClientLike } from '../transfer/boxPort.ts';
import { ConfigurationError } from '../transfer/errors.ts';

export interface BulkBoxLike extends BoxClientLike {
  folders: Pick<FoldersManager, 'listItems' | 'createFolder' | 'getFolder'>;
  metadata: Pick<MetadataManager, 'setGlobalProperties'>;
}

/** The transfer deps' Box client, checked to offer what a bulk run needs (src/box's BoxClient does). */
export function asBulkBox(box: BoxClientLike): BulkBoxLike {
  const b = box as Partial<BulkBoxLike>;
  if (typeof b.folders?.listItems !== 'function' || typeof b.folders.createFolder !== 'function' || typeof b.metadata?.setGlobalProperties !== 'function') {
    throw new ConfigurationError('the Box client has no folders/metadata managers (a bulk run needs src/box BoxClient)');
  }
  return box as BulkBoxLike;
}
