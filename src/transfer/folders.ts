// destination.folderPath: the Box subfolders below destination.folderId, created when missing. Creating
// is idempotent and safe when two transfers create the same folder at once: Box's 409 item_name_in_use
// names the existing folder in context_info.conflicts, which is then used.
import type { BoxClientLike } from './boxPort.ts';
import { nameConflict } from './conflict.ts';
import { NameConflictError } from './errors.ts';

/** The id of the folder `path` ('/'-separated names) below `rootId`, creating each missing folder. */
export async function resolveFolderPath(box: Pick<BoxClientLike, 'folders'>, rootId: string, path: string): Promise<string> {
  let parentId = rootId;
  for (const name of path.split('/')) {
    try {
      parentId = (await box.folders.createFolder(name, parentId)).id;
    } catch (err) {
      const conflict = nameConflict(err);
      if (conflict === undefined) throw err;
      if (conflict.type !== 'folder' || conflict.id === undefined) {
        throw new NameConflictError(`the folder name "${name}" is taken by a ${conflict.type ?? 'item'} in Box folder ${parentId}: move or rename that item`, { cause: err });
      }
      parentId = conflict.id;
    }
  }
  return parentId;
}
