// Helpers for the emulator's tests: raw HTTP over loopback with undici, and small upload recipes.
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { request } from 'undici';
import type { BoxEmulator, UploadPartJson, UploadSessionJson } from '../../local/box-emulator/index.ts';

export interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
}

export interface CallOptions {
  headers?: Record<string, string>;
  body?: string | Buffer | Readable;
  json?: unknown;
  /** Bearer token; default the emulator's developer token; null sends none. */
  token?: string | null;
}

/** One request; `target` is a path under box.url or an absolute URL. */
export async function call(box: BoxEmulator, method: string, target: string, o: CallOptions = {}): Promise<Answer> {
  const url = target.startsWith('http') ? target : `${box.url}${target}`;
  const headers: Record<string, string> = { ...o.headers };
  const token = o.token === undefined ? box.token : o.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  let body = o.body;
  if (o.json !== undefined) {
    body = JSON.stringify(o.json);
    headers['content-type'] ??= 'application/json';
  }
  const res = await request(url, { method: method as 'GET', headers, body: body ?? null });
  const text = await res.body.text();
  let json: unknown;
  try {
    json = text === '' ? undefined : JSON.parse(text);
  } catch {
    json = undefined;
  }
  return { status: res.statusCode, headers: res.headers, text, json };
}

export const sha1hex = (b: Buffer): string => createHash('sha1').update(b).digest('hex');
export const sha1b64 = (b: Buffer): string => createHash('sha1').update(b).digest('base64');

/** Deterministic pseudo-random bytes (differs per seed, so a wrong offset shows). */
export function bytes(size: number, seed = 1): Buffer {
  const b = Buffer.alloc(size);
  let x = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    b[i] = x & 0xff;
  }
  return b;
}

export async function createSession(
  box: BoxEmulator,
  fileSize: number,
  fileName: string,
  folderId = '0',
  token?: string,
): Promise<UploadSessionJson> {
  const r = await call(box, 'POST', '/api/2.0/files/upload_sessions', {
    json: { folder_id: folderId, file_size: fileSize, file_name: fileName },
    ...(token === undefined ? {} : { token }),
  });
  if (r.status !== 201) throw new Error(`create session: ${r.status} ${r.text}`);
  return withSize(r.json as UploadSessionJson, fileSize);
}

export interface PutOptions {
  digest?: string;
  range?: string;
  /** Send the body chunked (no Content-Length). */
  chunked?: boolean;
  token?: string;
  headers?: Record<string, string>;
}

export function putPart(box: BoxEmulator, session: UploadSessionJson, data: Buffer, start: number, o: PutOptions = {}): Promise<Answer> {
  const headers: Record<string, string> = {
    'content-type': 'application/octet-stream',
    digest: o.digest ?? `sha=${sha1b64(data)}`,
    'content-range': o.range ?? `bytes ${start}-${start + data.length - 1}/${fileSizeOf(session, data, start)}`,
    ...o.headers,
  };
  const body = o.chunked ? Readable.from(chunksOf(data, 64 * 1024)) : data;
  return call(box, 'PUT', session.session_endpoints.upload_part, { headers, body, ...(o.token === undefined ? {} : { token: o.token }) });
}

const sizes = new WeakMap<UploadSessionJson, number>();
/** Remember a session's file size so putPart can build Content-Range. */
function withSize(session: UploadSessionJson, fileSize: number): UploadSessionJson {
  sizes.set(session, fileSize);
  return session;
}
function fileSizeOf(session: UploadSessionJson, data: Buffer, start: number): number {
  return sizes.get(session) ?? start + data.length;
}

function* chunksOf(data: Buffer, size: number): Generator<Buffer> {
  for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
}

/** Uploads every part of `data` (in parallel) and returns the parts as the PUTs answered them. */
export async function uploadAllParts(box: BoxEmulator, session: UploadSessionJson, data: Buffer): Promise<UploadPartJson[]> {
  withSize(session, data.length);
  const answers = await Promise.all(
    Array.from({ length: session.total_parts }, (_, i) => {
      const start = i * session.part_size;
      return putPart(box, session, data.subarray(start, Math.min(start + session.part_size, data.length)), start);
    }),
  );
  return answers.map((a) => {
    if (a.status !== 200) throw new Error(`part: ${a.status} ${a.text}`);
    return a.json.part as UploadPartJson;
  });
}

export function commitSession(
  box: BoxEmulator,
  session: UploadSessionJson,
  parts: UploadPartJson[],
  wholeSha1B64: string,
  extra: { headers?: Record<string, string>; attributes?: Record<string, unknown>; token?: string } = {},
): Promise<Answer> {
  return call(box, 'POST', session.session_endpoints.commit, {
    headers: { digest: `sha=${wholeSha1B64}`, ...extra.headers },
    json: { parts, ...(extra.attributes === undefined ? {} : { attributes: extra.attributes }) },
    ...(extra.token === undefined ? {} : { token: extra.token }),
  });
}

/** A whole chunked upload: create, parts, commit; returns the committed File JSON. */
export async function chunkedUpload(box: BoxEmulator, data: Buffer, name: string, folderId = '0'): Promise<{ id: string; [k: string]: unknown }> {
  const session = await createSession(box, data.length, name, folderId);
  const parts = await uploadAllParts(box, session, data);
  const r = await commitSession(box, session, parts, sha1b64(data));
  if (r.status !== 201) throw new Error(`commit: ${r.status} ${r.text}`);
  return r.json.entries[0];
}

/** A multipart/form-data body: attributes then file (or in the given order). */
export function multipartBody(
  partsInOrder: Array<{ name: string; filename?: string; content: Buffer | string; contentType?: string }>,
): { body: Buffer; contentType: string } {
  const boundary = `----emulator-test-${Math.random().toString(16).slice(2)}`;
  const chunks: Buffer[] = [];
  for (const p of partsInOrder) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"`;
    if (p.filename !== undefined) head += `; filename="${p.filename}"`;
    head += '\r\n';
    if (p.contentType !== undefined) head += `Content-Type: ${p.contentType}\r\n`;
    chunks.push(Buffer.from(`${head}\r\n`), Buffer.isBuffer(p.content) ? p.content : Buffer.from(p.content), Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

export function directUpload(
  box: BoxEmulator,
  data: Buffer,
  attributes: Record<string, unknown>,
  o: { fileId?: string; headers?: Record<string, string>; chunked?: boolean; fileFirst?: boolean } = {},
): Promise<Answer> {
  const attr = { name: 'attributes', content: JSON.stringify(attributes) };
  const file = { name: 'file', filename: 'upload.bin', content: data, contentType: 'application/octet-stream' };
  const { body, contentType } = multipartBody(o.fileFirst ? [file, attr] : [attr, file]);
  const path = o.fileId === undefined ? '/api/2.0/files/content' : `/api/2.0/files/${o.fileId}/content`;
  return call(box, 'POST', path, {
    headers: { 'content-type': contentType, ...o.headers },
    body: o.chunked ? Readable.from([body.subarray(0, 100), body.subarray(100)]) : body,
  });
}

export async function download(box: BoxEmulator, fileId: string, headers: Record<string, string> = {}): Promise<{ status: number; body: Buffer; headers: Record<string, string | string[] | undefined> }> {
  const res = await request(`${box.url}/2.0/files/${fileId}/content`, { headers: { authorization: `Bearer ${box.token}`, ...headers } });
  return { status: res.statusCode, body: Buffer.from(await res.body.arrayBuffer()), headers: res.headers };
}

/** Box's ClientError shape. */
export function expectBoxError(a: Answer, status: number, code: string): void {
  const ok =
    a.status === status &&
    a.json?.type === 'error' &&
    a.json.status === status &&
    a.json.code === code &&
    typeof a.json.message === 'string' &&
    typeof a.json.help_url === 'string' &&
    typeof a.json.request_id === 'string' &&
    String(a.headers['content-type']).startsWith('application/json');
  if (!ok) throw new Error(`expected ${status} ${code}, got ${a.status} ${a.text}`);
}
