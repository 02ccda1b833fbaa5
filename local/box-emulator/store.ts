// The emulator's state: folders, files with their versions (bytes on disk), and upload sessions.
import { randomBytes } from 'node:crypto';
import type { Hash } from 'node:crypto';
import path from 'node:path';
import type { Principal } from './auth.ts';
import { BoxApiError } from './errors.ts';
import { boxTime } from './http-util.ts';
import type {
  BoxFile,
  BoxFolder,
  BoxFolderMini,
  BoxUserMini,
  SessionStatus,
  SessionSummary,
  UploadPartJson,
  UploadSessionJson,
} from './types.ts';

export interface FolderRecord {
  id: string;
  name: string;
  parentId: string | null;
  createdAt: number;
  modifiedAt: number;
  owner: BoxUserMini;
}

export interface VersionRecord {
  id: string;
  sha1: string;
  size: number;
  path: string;
}

export interface FileRecord {
  id: string;
  name: string;
  parentId: string;
  description: string;
  versions: VersionRecord[];
  createdAt: number;
  modifiedAt: number;
  contentCreatedAt: number;
  contentModifiedAt: number;
  createdBy: BoxUserMini;
  modifiedBy: BoxUserMini;
  owner: BoxUserMini;
}

export interface PartRecord extends UploadPartJson {
  /** When the emulator's simulated processing of this part is done (commitProcessing proportional). */
  processedAt: number;
}

export interface SessionRecord {
  id: string;
  owner: Principal;
  /** The folder the file lands in (for a new version: its folder, or the one it moves to). */
  folderId: string;
  /** Set for a new-version session. */
  fileId: string | undefined;
  fileName: string;
  fileSize: number;
  partSize: number;
  totalParts: number;
  createdAt: number;
  expiresAt: number;
  status: SessionStatus;
  /** Stored parts by offset. */
  parts: Map<number, PartRecord>;
  /** Part ids handed out in this session (unique per session). */
  partIds: Set<string>;
  bytesUploaded: number;
  /** Parts being received now: offset -> [end, settled promise]. */
  inFlight: Map<number, { end: number; done: Promise<void> }>;
  /** Sparse file holding the parts at their offsets. */
  dataPath: string;
  commitAttempts202: number;
  /** commitProcessing proportional: when the last stored part is "processed" (ms epoch). */
  processingUntil: number;
  /** Serialises commits of one session. */
  commitLock: Promise<unknown>;
  committedFileId: string | undefined;
  /** Whole-file SHA-1 (base64), once computed at commit. */
  wholeSha1: Promise<string> | undefined;
  /** Running SHA-1 of the bytes [0, hashedUpTo), advanced in the background as parts arrive in order. */
  prefixHash: Hash;
  hashedUpTo: number;
  /** The background hashing chain (one run at a time). */
  hashing: Promise<void>;
}

export const ROOT_FOLDER_ID = '0';

const SYSTEM_USER: BoxUserMini = { type: 'user', id: '20000000', name: 'Emulator', login: 'emulator@emulator.box.test' };

export function userMini(p: Principal): BoxUserMini {
  return { type: 'user', id: p.userId, name: p.name, login: p.login };
}

/** Box's name rules (common-errors): <= 255 chars, no / or \, no leading/trailing spaces, not . or .. */
export function validateItemName(name: unknown, missingCode: string): string {
  if (name === undefined || name === null || name === '') throw new BoxApiError(400, missingCode, 'Missing name');
  if (typeof name !== 'string') throw new BoxApiError(400, 'item_name_invalid', 'Item name invalid');
  if (name.length > 255) throw new BoxApiError(400, 'item_name_too_long', 'Item name too long');
  if (/[/\\]/.test(name) || name !== name.trim() || name === '.' || name === '..' || hasControlChar(name)) {
    throw new BoxApiError(400, 'item_name_invalid', 'Item name invalid');
  }
  return name;
}

function hasControlChar(name: string): boolean {
  for (let i = 0; i < name.length; i++) if (name.charCodeAt(i) < 0x20) return true;
  return false;
}

export class Store {
  readonly folders = new Map<string, FolderRecord>();
  readonly files = new Map<string, FileRecord>();
  readonly sessions = new Map<string, SessionRecord>();
  /** The global.properties metadata instance of each file that has one, by file id. */
  readonly properties = new Map<string, Record<string, string>>();
  private nextItemId = 100000001;
  private readonly dataDir: string;

  constructor(dataDir: string) {
    this.dataDir = dataDir;
    const now = Date.now();
    this.folders.set(ROOT_FOLDER_ID, { id: ROOT_FOLDER_ID, name: 'All Files', parentId: null, createdAt: now, modifiedAt: now, owner: SYSTEM_USER });
  }

  newItemId(): string {
    return String(this.nextItemId++);
  }

  /** A new file record (not yet stored) with Box's dates: content dates from the upload's attributes. */
  newFileRecord(
    name: string,
    parentId: string,
    attrs: { contentCreatedAt?: number; contentModifiedAt?: number; description?: string },
    user: BoxUserMini,
    versions: VersionRecord[],
  ): FileRecord {
    const now = Date.now();
    return {
      id: this.newItemId(),
      name,
      parentId,
      description: attrs.description ?? '',
      versions,
      createdAt: now,
      modifiedAt: now,
      contentCreatedAt: attrs.contentCreatedAt ?? attrs.contentModifiedAt ?? now,
      contentModifiedAt: attrs.contentModifiedAt ?? now,
      createdBy: user,
      modifiedBy: user,
      owner: user,
    };
  }

  newSessionId(): string {
    let id: string;
    do id = randomBytes(16).toString('hex').toUpperCase();
    while (this.sessions.has(id));
    return id;
  }

  newPartId(session: SessionRecord): string {
    // Kept in a Set on the session: rebuilding one from the parts for each new part was O(n^2).
    let id: string;
    do id = randomBytes(4).toString('hex').toUpperCase();
    while (session.partIds.has(id));
    session.partIds.add(id);
    return id;
  }

  sessionDataPath(sessionId: string): string {
    return path.join(this.dataDir, 'sessions', `${sessionId}.bin`);
  }

  versionPath(versionId: string): string {
    return path.join(this.dataDir, 'files', `${versionId}.bin`);
  }

  incomingPath(): string {
    return path.join(this.dataDir, 'incoming', `${randomBytes(8).toString('hex')}.bin`);
  }

  folder(id: string): FolderRecord | undefined {
    return this.folders.get(id);
  }

  /** The file or folder in `parentId` whose name equals `name` (case-insensitively, as Box does). */
  itemNamed(parentId: string, name: string): { file?: FileRecord; folder?: FolderRecord } | undefined {
    const wanted = name.toLowerCase();
    for (const f of this.files.values()) if (f.parentId === parentId && f.name.toLowerCase() === wanted) return { file: f };
    for (const d of this.folders.values()) if (d.parentId === parentId && d.name.toLowerCase() === wanted) return { folder: d };
    return undefined;
  }

  /** 409 item_name_in_use with context_info.conflicts as one object (what upload clients read). */
  assertNameFree(parentId: string, name: string, exceptFileId?: string): void {
    const hit = this.itemNamed(parentId, name);
    if (hit === undefined || (hit.file !== undefined && hit.file.id === exceptFileId)) return;
    const conflicts = hit.file !== undefined ? this.fileMini(hit.file) : this.folderMini(hit.folder!);
    throw new BoxApiError(409, 'item_name_in_use', 'Item with the same name already exists', { contextInfo: { conflicts } });
  }

  createFolderRecord(name: string, parentId: string, owner: BoxUserMini): FolderRecord {
    const now = Date.now();
    const rec: FolderRecord = { id: this.newItemId(), name, parentId, createdAt: now, modifiedAt: now, owner };
    this.folders.set(rec.id, rec);
    return rec;
  }

  // ---- JSON renderers ----

  folderMini(f: FolderRecord): BoxFolderMini {
    const root = f.id === ROOT_FOLDER_ID;
    return { type: 'folder', id: f.id, sequence_id: root ? null : '0', etag: root ? null : '0', name: f.name };
  }

  pathCollection(parentId: string | null): { total_count: number; entries: BoxFolderMini[] } {
    const entries: BoxFolderMini[] = [];
    for (let id = parentId; id !== null; ) {
      const f = this.folders.get(id);
      if (f === undefined) break;
      entries.unshift(this.folderMini(f));
      id = f.parentId;
    }
    return { total_count: entries.length, entries };
  }

  fileMini(f: FileRecord): Record<string, unknown> {
    const v = latest(f);
    const n = String(f.versions.length - 1);
    return {
      type: 'file',
      id: f.id,
      file_version: { type: 'file_version', id: v.id, sha1: v.sha1 },
      sequence_id: n,
      etag: n,
      sha1: v.sha1,
      name: f.name,
    };
  }

  fileJson(f: FileRecord): BoxFile {
    const v = latest(f);
    const n = String(f.versions.length - 1);
    const parent = this.folders.get(f.parentId);
    return {
      type: 'file',
      id: f.id,
      etag: n,
      sequence_id: n,
      name: f.name,
      description: f.description,
      size: v.size,
      sha1: v.sha1,
      file_version: { type: 'file_version', id: v.id, sha1: v.sha1 },
      path_collection: this.pathCollection(f.parentId),
      created_at: boxTime(f.createdAt),
      modified_at: boxTime(f.modifiedAt),
      content_created_at: boxTime(f.contentCreatedAt),
      content_modified_at: boxTime(f.contentModifiedAt),
      trashed_at: null,
      purged_at: null,
      created_by: f.createdBy,
      modified_by: f.modifiedBy,
      owned_by: f.owner,
      shared_link: null,
      parent: parent === undefined ? { type: 'folder', id: f.parentId, sequence_id: null, etag: null, name: '' } : this.folderMini(parent),
      item_status: 'active',
    };
  }

  folderJson(f: FolderRecord): BoxFolder {
    const parent = f.parentId === null ? undefined : this.folders.get(f.parentId);
    const root = f.id === ROOT_FOLDER_ID;
    return {
      type: 'folder',
      id: f.id,
      etag: root ? '' : '0',
      sequence_id: root ? '' : '0',
      name: f.name,
      description: '',
      size: 0,
      path_collection: this.pathCollection(f.parentId),
      created_at: boxTime(f.createdAt),
      modified_at: boxTime(f.modifiedAt),
      content_created_at: boxTime(f.createdAt),
      content_modified_at: boxTime(f.modifiedAt),
      trashed_at: null,
      purged_at: null,
      created_by: f.owner,
      modified_by: f.owner,
      owned_by: f.owner,
      shared_link: null,
      parent: parent === undefined ? null : this.folderMini(parent),
      item_status: 'active',
    };
  }

  sessionJson(s: SessionRecord, baseUrl: string, numPartsProcessed: number): UploadSessionJson {
    const u = `${baseUrl}/api/2.0/files/upload_sessions/${s.id}`;
    return {
      id: s.id,
      type: 'upload_session',
      session_expires_at: new Date(s.expiresAt).toISOString().slice(0, 19) + 'Z',
      part_size: s.partSize,
      total_parts: s.totalParts,
      num_parts_processed: numPartsProcessed,
      session_endpoints: {
        upload_part: u,
        commit: `${u}/commit`,
        abort: u,
        list_parts: `${u}/parts`,
        status: u,
        log_event: `${u}/log`,
      },
    };
  }

  sessionSummary(s: SessionRecord): SessionSummary {
    return {
      id: s.id,
      status: s.status,
      folderId: s.folderId,
      fileId: s.fileId,
      fileName: s.fileName,
      fileSize: s.fileSize,
      partSize: s.partSize,
      totalParts: s.totalParts,
      partsUploaded: s.parts.size,
      bytesUploaded: s.bytesUploaded,
      createdAt: new Date(s.createdAt).toISOString(),
      expiresAt: new Date(s.expiresAt).toISOString(),
      committedFileId: s.committedFileId,
    };
  }
}

export function latest(f: FileRecord): VersionRecord {
  const v = f.versions[f.versions.length - 1];
  if (v === undefined) throw new Error(`file ${f.id} has no version`);
  return v;
}

export function partJson(p: PartRecord): UploadPartJson {
  return { part_id: p.part_id, offset: p.offset, size: p.size, sha1: p.sha1 };
}

export function sortedParts(s: SessionRecord): PartRecord[] {
  return [...s.parts.values()].sort((a, b) => a.offset - b.offset);
}
