// The Box folder tree of a run: folders created on demand, their ids cached per run (a warm Lambda keeps
// the cache for the next batch of the same run), creation idempotent and safe when two children create
// the same folder at once: Box's 409 item_name_in_use carries the existing folder in
// context_info.conflicts, which is then used. Folder listings (for the skip rules) are cached per batch.
import type { BoxItem } from '../box/types.ts';
import { nameConflict } from '../transfer/conflict.ts';
import { NameConflictError } from '../transfer/errors.ts';
import type { BulkBoxLike } from './boxPort.ts';
import type { SourceIdentity } from './contract.ts';
import { identityFromProperties } from './identity.ts';

/** A file entry of a folder listing, with what the skip rules compare. */
export interface BoxEntry {
  type: 'file' | 'folder' | 'web_link';
  id: string;
  name: string;
  size?: number;
  sha1?: string;
  identity?: SourceIdentity;
}

const LIST_FIELDS = ['type', 'id', 'name', 'size', 'sha1', 'metadata.global.properties'];
const PAGE = 1000;

/** Lists every entry of a folder (offset paging), keyed by lower-cased name: Box compares names case-insensitively. */
export async function listFolder(box: BulkBoxLike, folderId: string): Promise<Map<string, BoxEntry>> {
  const out = new Map<string, BoxEntry>();
  for (let offset = 0; ; offset += PAGE) {
    const page = await box.folders.listItems(folderId, { offset, limit: PAGE, fields: LIST_FIELDS });
    for (const item of page.entries) {
      const entry = toEntry(item);
      if (entry !== undefined) out.set(entry.name.toLowerCase(), entry);
    }
    if (page.entries.length < PAGE || offset + page.entries.length >= page.total_count) return out;
  }
}

function toEntry(item: BoxItem): BoxEntry | undefined {
  const raw = item as unknown as Record<string, unknown>;
  if (typeof raw.id !== 'string' || typeof raw.name !== 'string') return undefined;
  const entry: BoxEntry = { type: item.type, id: raw.id, name: raw.name };
  if (typeof raw.size === 'number') entry.size = raw.size;
  if (typeof raw.sha1 === 'string') entry.sha1 = raw.sha1.toLowerCase();
  const props = (raw.metadata as { global?: { properties?: unknown } } | undefined)?.global?.properties;
  const identity = identityFromProperties(props);
  if (identity !== undefined) entry.identity = identity;
  return entry;
}

/** Folder ids by run, then by path ("a/b"); a few runs are kept (a warm Lambda may serve several). */
const runCaches = new Map<string, Map<string, Promise<string | undefined>>>();
const MAX_RUNS_CACHED = 8;

function runCache(runId: string): Map<string, Promise<string | undefined>> {
  let cache = runCaches.get(runId);
  if (cache === undefined) {
    if (runCaches.size >= MAX_RUNS_CACHED) runCaches.delete(runCaches.keys().next().value as string);
    cache = new Map();
    runCaches.set(runId, cache);
  }
  return cache;
}

export interface FolderTreeOptions {
  box: BulkBoxLike;
  runId: string;
  rootId: string;
  /** Look folders up only (listings), never create one: for dry runs. */
  readOnly: boolean;
  /** Called once per Box request that creates a folder (for counting). */
  onCreate?: () => void;
}

export class FolderTree {
  readonly #opts: FolderTreeOptions;
  readonly #ids: Map<string, Promise<string | undefined>>;
  /** Listings of this batch, by folder id. */
  readonly #listings = new Map<string, Promise<Map<string, BoxEntry>>>();

  constructor(opts: FolderTreeOptions) {
    this.#opts = opts;
    this.#ids = runCache(`${opts.runId}\u0000${opts.rootId}\u0000${opts.readOnly ? 'ro' : 'rw'}`);
  }

  /** The id of the folder at `path` below the root, created as needed; undefined when read-only and missing. */
  folderId(path: readonly string[]): Promise<string | undefined> {
    if (path.length === 0) return Promise.resolve(this.#opts.rootId);
    const key = path.join('/');
    let id = this.#ids.get(key);
    if (id === undefined) {
      id = this.#resolve(path);
      this.#ids.set(key, id);
      // A failure is not cached: the next object in that folder tries again.
      id.catch(() => this.#ids.delete(key));
    }
    return id;
  }

  /** The entries of a folder, listed once per batch. */
  entries(folderId: string): Promise<Map<string, BoxEntry>> {
    let listing = this.#listings.get(folderId);
    if (listing === undefined) {
      listing = listFolder(this.#opts.box, folderId);
      this.#listings.set(folderId, listing);
      listing.catch(() => this.#listings.delete(folderId));
    }
    return listing;
  }

  async #resolve(path: readonly string[]): Promise<string | undefined> {
    const parentId = await this.folderId(path.slice(0, -1));
    if (parentId === undefined) return undefined;
    const name = path[path.length - 1] as string;
    if (this.#opts.readOnly) {
      const hit = (await this.entries(parentId)).get(name.toLowerCase());
      if (hit === undefined) return undefined;
      if (hit.type !== 'folder') throw folderNameTaken(name, parentId, hit.type);
      return hit.id;
    }
    try {
      this.#opts.onCreate?.();
      return (await this.#opts.box.folders.createFolder(name, parentId)).id;
    } catch (err) {
      const conflict = nameConflict(err);
      if (conflict === undefined) throw err;
      if (conflict.type === 'folder' && conflict.id !== undefined) return conflict.id;
      throw folderNameTaken(name, parentId, conflict.type ?? 'item');
    }
  }
}

function folderNameTaken(name: string, parentId: string, type: string): NameConflictError {
  return new NameConflictError(`the folder name "${name}" is taken by a ${type} in Box folder ${parentId}: move or rename that ${type}`);
}

/** Forget every cached run (tests). */
export function clearFolderCaches(): void {
  runCaches.clear();
}
