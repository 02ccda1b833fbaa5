// Everything that is not a chunked session: direct (multipart) uploads, file info and download,
// folders, and the OAuth2 token endpoint.
import { createHash } from 'node:crypto';
import { createReadStream, renameSync } from 'node:fs';
import { mkdir, open, rm } from 'node:fs/promises';
import type { FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { filesReply, uploadAttributes } from './chunked.ts';
import { param, principalOf } from './context.ts';
import type { RequestContext } from './context.ts';
import { BoxApiError, OAuthError, badRequest } from './errors.ts';
import { bodyChunks, header, jsonReply, readJsonObject, readSmallBody } from './http-util.ts';
import type { Reply } from './http-util.ts';
import { boundaryOf, readMultipart } from './multipart.ts';
import type { MultipartPartSink } from './multipart.ts';
import { latest, userMini, validateItemName } from './store.ts';
import type { FileRecord } from './store.ts';

const notFound = (what = 'Could not find the specified resource'): BoxApiError => new BoxApiError(404, 'not_found', what);

interface ReceivedUpload {
  attributes: Record<string, unknown>;
  tempPath: string;
  size: number;
  sha1: string;
}

/**
 * Reads a direct upload: the `attributes` JSON part, which must come before the `file` part, and the
 * file streamed to a temp file. `beforeFile` validates the attributes as soon as the file part begins.
 */
async function receiveUpload(ctx: RequestContext, beforeFile: (attributes: Record<string, unknown>) => void): Promise<ReceivedUpload> {
  const boundary = boundaryOf(header(ctx.req, 'content-type'));
  let attributesRaw: Buffer[] | undefined;
  let attributes: Record<string, unknown> | undefined;
  let fileSeen = false;
  let fh: FileHandle | undefined;
  const tempPath = ctx.env.store.incomingPath();
  const hash = createHash('sha1');
  let size = 0;
  try {
    await readMultipart(bodyChunks(ctx.req, ctx.env.shaper), boundary, async (info): Promise<MultipartPartSink> => {
      if (info.name === 'attributes') {
        attributesRaw = [];
        return {
          data: (chunk) => void attributesRaw!.push(Buffer.from(chunk)),
          end: () => {
            try {
              const parsed: unknown = JSON.parse(Buffer.concat(attributesRaw!).toString('utf8'));
              if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
              attributes = parsed as Record<string, unknown>;
            } catch {
              throw badRequest('Could not parse the attributes part as a JSON object');
            }
          },
        };
      }
      if (info.name === 'file' || info.filename !== undefined) {
        if (attributes === undefined) {
          throw badRequest('The attributes part must come before the file part', 'metadata_after_file_contents');
        }
        if (fileSeen) throw badRequest('More than one file part');
        fileSeen = true;
        beforeFile(attributes);
        await mkdir(path.dirname(tempPath), { recursive: true });
        fh = await open(tempPath, 'w');
        const out = fh;
        return {
          data: async (chunk) => {
            hash.update(chunk);
            size += chunk.length;
            await out.write(chunk);
          },
          end: () => undefined,
        };
      }
      return { data: () => undefined, end: () => undefined };
    });
    if (!fileSeen || attributes === undefined) throw badRequest('Missing the file part');
  } catch (err) {
    await fh?.close();
    await rm(tempPath, { force: true });
    throw err;
  }
  await fh?.close();
  const sha1 = hash.digest('hex');
  const md5 = header(ctx.req, 'content-md5');
  if (md5 !== undefined && md5.trim().toLowerCase() !== sha1) {
    await rm(tempPath, { force: true });
    throw badRequest('The specified Content-MD5 did not match what we received', 'bad_digest');
  }
  return { attributes, tempPath, size, sha1 };
}

function parentIdOf(attributes: Record<string, unknown>): string {
  const parent = attributes.parent as Record<string, unknown> | undefined;
  const id = parent?.id;
  if (id === undefined || id === null || id === '') throw badRequest('Missing parent.id in attributes');
  return String(id);
}

/**
 * Moves the upload into place as a version. `checkThen` runs right before the move, and the move and the
 * caller's insertion happen in the same turn of the event loop (renameSync), so two uploads of one name
 * at once cannot both pass the name check (Box answers the second 409 item_name_in_use).
 */
async function storeVersion(ctx: RequestContext, upload: ReceivedUpload, checkThen: () => void): Promise<{ id: string; path: string; size: number; sha1: string }> {
  const id = ctx.env.store.newItemId();
  const dest = ctx.env.store.versionPath(id);
  await mkdir(path.dirname(dest), { recursive: true });
  checkThen();
  renameSync(upload.tempPath, dest);
  return { id, path: dest, size: upload.size, sha1: upload.sha1 };
}

/** POST /files/content (multipart: attributes {name, parent:{id}, content_*_at}, then file). */
export async function uploadFile(ctx: RequestContext): Promise<Reply> {
  const { store } = ctx.env;
  const check = (attributes: Record<string, unknown>): { name: string; parentId: string } => {
    const name = validateItemName(attributes.name, 'bad_request');
    const parentId = parentIdOf(attributes);
    if (store.folder(parentId) === undefined) throw notFound('Could not find the specified parent folder');
    store.assertNameFree(parentId, name);
    uploadAttributes(attributes);
    return { name, parentId };
  };
  const upload = await receiveUpload(ctx, check);
  try {
    let { name, parentId } = check(upload.attributes); // again: the folder may have changed meanwhile
    const attrs = uploadAttributes(upload.attributes);
    // And once more with the insertion (same turn): another upload of the name may have finished meanwhile.
    const version = await storeVersion(ctx, upload, () => ({ name, parentId } = check(upload.attributes)));
    const user = userMini(principalOf(ctx));
    const file: FileRecord = store.newFileRecord(name, parentId, attrs, user, [version]);
    store.files.set(file.id, file);
    return filesReply(ctx, file);
  } finally {
    await rm(upload.tempPath, { force: true });
  }
}

/**
 * OPTIONS /files/content {name, parent:{id}, size?}: the preflight check. 200 with an upload URL when a
 * direct upload would be accepted; a name already taken answers 409 item_name_in_use in the shape the
 * `preflight` option says (Box's is not confirmed).
 */
export async function preflightCheck(ctx: RequestContext): Promise<Reply> {
  const { store, config } = ctx.env;
  const body = await readJsonObject(ctx.req, ctx.env.shaper);
  const name = validateItemName(body.name, 'bad_request');
  const parentId = parentIdOf(body);
  if (store.folder(parentId) === undefined) throw notFound('Could not find the specified parent folder');
  if (body.size !== undefined && (typeof body.size !== 'number' || !Number.isSafeInteger(body.size) || body.size < 0)) throw badRequest('Invalid size');
  if (typeof body.size === 'number' && body.size > config.maxFileSize) {
    throw new BoxApiError(403, 'file_size_limit_exceeded', "File size exceeds the folder owner's file size limit");
  }
  if (config.preflight !== 'no-name-check') {
    try {
      store.assertNameFree(parentId, name);
    } catch (err) {
      if (!(err instanceof BoxApiError) || err.contextInfo === undefined) throw err;
      if (config.preflight === 'no-context') throw new BoxApiError(409, err.code, err.message);
      if (config.preflight === 'conflicts-list') throw new BoxApiError(409, err.code, err.message, { contextInfo: { conflicts: [err.contextInfo.conflicts] } });
      throw err;
    }
  }
  return jsonReply(200, { upload_url: `${ctx.env.baseUrl}/api/2.0/files/content` });
}

/** POST /files/{id}/content: a new version (attributes optional: name, content_modified_at). */
export async function uploadFileVersion(ctx: RequestContext): Promise<Reply> {
  const { store } = ctx.env;
  const file = store.files.get(param(ctx, 0));
  if (file === undefined) throw notFound();
  const ifMatch = header(ctx.req, 'if-match');
  if (ifMatch !== undefined && ifMatch !== '*' && ifMatch !== String(file.versions.length - 1)) {
    throw new BoxApiError(412, 'precondition_failed', 'The resource has been modified. Please retrieve the resource again and retry');
  }
  const check = (attributes: Record<string, unknown>): string => {
    const name = attributes.name === undefined ? file.name : validateItemName(attributes.name, 'bad_request');
    store.assertNameFree(file.parentId, name, file.id);
    uploadAttributes(attributes);
    return name;
  };
  const upload = await receiveUpload(ctx, check);
  try {
    if (!store.files.has(file.id)) throw notFound();
    let name = check(upload.attributes);
    const attrs = uploadAttributes(upload.attributes);
    file.versions.push(await storeVersion(ctx, upload, () => (name = check(upload.attributes))));
    const now = Date.now();
    file.name = name;
    file.modifiedAt = now;
    file.modifiedBy = userMini(principalOf(ctx));
    file.contentModifiedAt = attrs.contentModifiedAt ?? now;
    if (attrs.description !== undefined) file.description = attrs.description;
    return filesReply(ctx, file);
  } finally {
    await rm(upload.tempPath, { force: true });
  }
}

/** GET /files/{id} */
export async function getFile(ctx: RequestContext): Promise<Reply> {
  const file = ctx.env.store.files.get(param(ctx, 0));
  if (file === undefined) throw notFound();
  return jsonReply(200, ctx.env.store.fileJson(file));
}

/** GET /files/{id}/content: the bytes (200, or 206 for a single `Range: bytes=a-b`). */
export async function downloadFile(ctx: RequestContext): Promise<Reply> {
  const file = ctx.env.store.files.get(param(ctx, 0));
  if (file === undefined) throw notFound();
  const wanted = ctx.url.searchParams.get('version');
  const version = wanted === null ? latest(file) : file.versions.find((v) => v.id === wanted);
  if (version === undefined) throw notFound('Could not find the specified file version');
  const headers: Record<string, string> = {
    'content-type': 'application/octet-stream',
    'content-disposition': `attachment; filename="${encodeURIComponent(file.name)}"; filename*=UTF-8''${encodeURIComponent(file.name)}`,
    'accept-ranges': 'bytes',
    etag: `"${file.versions.length - 1}"`,
  };
  const range = header(ctx.req, 'range');
  if (range !== undefined) {
    const m = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
    let start = NaN;
    let end = NaN;
    if (m !== null && (m[1] !== '' || m[2] !== '')) {
      if (m[1] === '') {
        start = Math.max(0, version.size - Number(m[2]));
        end = version.size - 1;
      } else {
        start = Number(m[1]);
        end = m[2] === '' ? version.size - 1 : Math.min(Number(m[2]), version.size - 1);
      }
    }
    if (!(start <= end && start < version.size)) {
      throw new BoxApiError(416, 'requested_range_not_satisfiable', 'Requested range not satisfiable', {
        headers: { 'content-range': `bytes */${version.size}` },
      });
    }
    return {
      status: 206,
      headers: { ...headers, 'content-range': `bytes ${start}-${end}/${version.size}` },
      stream: () => createReadStream(version.path, { start, end, highWaterMark: 256 * 1024 }),
      length: end - start + 1,
    };
  }
  return {
    status: 200,
    headers,
    stream: () => createReadStream(version.path, { highWaterMark: 256 * 1024 }),
    length: version.size,
  };
}

/** A marker (opaque to clients) for the page that starts at `offset`. */
function markerFor(offset: number): string {
  return Buffer.from(`offset:${offset}`).toString('base64url');
}

function offsetOfMarker(marker: string): number {
  const m = /^offset:(\d+)$/.exec(Buffer.from(marker, 'base64url').toString('utf8'));
  if (m === null) throw badRequest('Invalid marker', 'invalid_parameter');
  return Number(m[1]);
}

/**
 * GET /folders/{id}/items (folders first, then files). Offset/limit paging, or with `usemarker=true`
 * marker paging: `next_marker` instead of `total_count`/`offset`/`order`, its last page as the
 * `markerPaging` option says.
 */
export async function listFolderItems(ctx: RequestContext): Promise<Reply> {
  const { store } = ctx.env;
  const folderId = param(ctx, 0);
  if (store.folder(folderId) === undefined) throw notFound();
  const q = ctx.url.searchParams;
  const paging = ctx.env.config.markerPaging;
  const byMarker = q.get('usemarker') === 'true' && paging !== 'ignored';
  if (byMarker && q.has('offset')) throw badRequest('Only one pagination method can be used at a time', 'invalid_parameter');
  const marker = byMarker ? q.get('marker') : null;
  const offset = marker !== null && marker !== '' ? offsetOfMarker(marker) : Number(q.get('offset') ?? 0);
  const limitRaw = Number(q.get('limit') ?? 100);
  if (!Number.isSafeInteger(offset) || offset < 0 || !Number.isSafeInteger(limitRaw) || limitRaw < 0) {
    throw badRequest('Invalid offset or limit');
  }
  const limit = Math.min(limitRaw, 1000);
  const byName = (a: { name: string }, b: { name: string }): number => a.name.localeCompare(b.name);
  const folders = [...store.folders.values()].filter((f) => f.parentId === folderId).sort(byName);
  const files = [...store.files.values()].filter((f) => f.parentId === folderId).sort(byName);
  // `fields` (Box's query): size and the global.properties metadata are returned only when asked for,
  // as Box does; the mini fields are always there.
  const fields = new Set((q.get('fields') ?? '').split(',').filter((f) => f !== ''));
  const fileEntry = (f: FileRecord): Record<string, unknown> => {
    const entry = store.fileMini(f);
    if (fields.has('size')) entry.size = latest(f).size;
    if (fields.has('metadata.global.properties')) {
      const props = store.properties.get(f.id);
      entry.metadata = { global: { properties: props === undefined ? null : propertiesInstance(f.id, props) } };
    }
    return entry;
  };
  const entries = [...folders.map((f) => store.folderMini(f) as unknown), ...files.map(fileEntry)];
  const page = entries.slice(offset, offset + limit);
  if (byMarker) {
    const more = offset + page.length < entries.length;
    const end = paging === 'empty-at-end' ? { next_marker: '' } : paging === 'absent-at-end' ? {} : { next_marker: null };
    return jsonReply(200, { entries: page, limit, ...(more ? { next_marker: markerFor(offset + page.length) } : end) });
  }
  return jsonReply(200, {
    total_count: entries.length,
    entries: page,
    offset,
    limit,
    order: [
      { by: 'type', direction: 'ASC' },
      { by: 'name', direction: 'ASC' },
    ],
  });
}

/** GET /folders/{id}: the folder with its path_collection (every ancestor from the root), as Box answers. */
export async function getFolder(ctx: RequestContext): Promise<Reply> {
  const folder = ctx.env.store.folder(param(ctx, 0));
  if (folder === undefined) throw notFound();
  return jsonReply(200, ctx.env.store.folderJson(folder));
}

/** POST /folders {name, parent:{id}}; a clash answers 409 with context_info.conflicts as a list. */
export async function createFolder(ctx: RequestContext): Promise<Reply> {
  const { store } = ctx.env;
  const body = await readJsonObject(ctx.req, ctx.env.shaper);
  const name = validateItemName(body.name, 'bad_request');
  const parentId = parentIdOf(body);
  if (store.folder(parentId) === undefined) throw notFound('Could not find the specified parent folder');
  try {
    store.assertNameFree(parentId, name);
  } catch (err) {
    if (err instanceof BoxApiError && err.contextInfo !== undefined) {
      throw new BoxApiError(409, err.code, err.message, { contextInfo: { conflicts: [err.contextInfo.conflicts] } });
    }
    throw err;
  }
  const folder = store.createFolderRecord(name, parentId, userMini(principalOf(ctx)));
  return jsonReply(201, store.folderJson(folder));
}

/** POST /oauth2/token (form-encoded; JSON is accepted too). */
export async function token(ctx: RequestContext): Promise<Reply> {
  const raw = (await readSmallBody(ctx.req, ctx.env.shaper, 1024 * 1024)).toString('utf8');
  let form: URLSearchParams;
  if ((header(ctx.req, 'content-type') ?? '').includes('application/json')) {
    try {
      form = new URLSearchParams(JSON.parse(raw) as Record<string, string>);
    } catch {
      throw new OAuthError(400, 'invalid_request', 'Could not parse the request body');
    }
  } else {
    form = new URLSearchParams(raw);
  }
  return jsonReply(200, ctx.env.tokens.issue(form));
}

/** A global.properties instance as Box renders it: the values plus Box's `$` fields. */
function propertiesInstance(fileId: string, props: Record<string, string>): Record<string, unknown> {
  return { ...props, $id: `props-${fileId}`, $parent: `file_${fileId}`, $scope: 'global', $template: 'properties', $type: 'properties-0', $typeVersion: 0, $version: 0, $canEdit: true };
}

function fileForMetadata(ctx: RequestContext): FileRecord {
  const file = ctx.env.store.files.get(param(ctx, 0));
  if (file === undefined) throw notFound();
  return file;
}

/** Keys and values of global.properties: string keys not starting with '$', string values. */
function checkProperty(key: string, value: unknown): string {
  if (key === '' || key.startsWith('$') || typeof value !== 'string') {
    throw new BoxApiError(400, 'bad_request', `Invalid metadata value for key ${JSON.stringify(key)}`);
  }
  return value;
}

/** GET /files/{id}/metadata/global/properties: 404 instance_not_found when the file has none. */
export async function getMetadata(ctx: RequestContext): Promise<Reply> {
  const file = fileForMetadata(ctx);
  const props = ctx.env.store.properties.get(file.id);
  if (props === undefined) throw new BoxApiError(404, 'instance_not_found', 'Instance not found');
  return jsonReply(200, propertiesInstance(file.id, props));
}

/** POST /files/{id}/metadata/global/properties {key: value}: 201, or 409 tuple_already_exists. */
export async function createMetadata(ctx: RequestContext): Promise<Reply> {
  const file = fileForMetadata(ctx);
  const body = await readJsonObject(ctx.req, ctx.env.shaper);
  if (ctx.env.store.properties.has(file.id)) throw new BoxApiError(409, 'tuple_already_exists', 'A resource with this value already exists');
  const props: Record<string, string> = {};
  for (const [key, value] of Object.entries(body)) props[key] = checkProperty(key, value);
  ctx.env.store.properties.set(file.id, props);
  return jsonReply(201, propertiesInstance(file.id, props));
}

/** PUT /files/{id}/metadata/global/properties with JSON Patch operations (add, replace, remove). */
export async function updateMetadata(ctx: RequestContext): Promise<Reply> {
  const file = fileForMetadata(ctx);
  const props = ctx.env.store.properties.get(file.id);
  if (props === undefined) throw new BoxApiError(404, 'instance_not_found', 'Instance not found');
  const raw = (await readSmallBody(ctx.req, ctx.env.shaper, 1024 * 1024)).toString('utf8');
  let ops: unknown;
  try {
    ops = JSON.parse(raw);
  } catch {
    throw badRequest('Could not parse the JSON Patch body');
  }
  if (!Array.isArray(ops)) throw badRequest('The body must be a JSON Patch array');
  const next = { ...props };
  for (const op of ops as Array<{ op?: unknown; path?: unknown; value?: unknown }>) {
    const key = typeof op.path === 'string' && op.path.startsWith('/') ? op.path.slice(1) : '';
    if (op.op === 'add') next[key] = checkProperty(key, op.value);
    else if (op.op === 'replace') {
      if (!(key in next)) throw new BoxApiError(400, 'bad_request', `No value at ${String(op.path)} to replace`);
      next[key] = checkProperty(key, op.value);
    } else if (op.op === 'remove') {
      if (!(key in next)) throw new BoxApiError(400, 'bad_request', `No value at ${String(op.path)} to remove`);
      delete next[key];
    } else throw new BoxApiError(400, 'bad_request', `Unsupported JSON Patch operation ${JSON.stringify(op.op)}`);
  }
  ctx.env.store.properties.set(file.id, next);
  return jsonReply(200, propertiesInstance(file.id, next));
}
