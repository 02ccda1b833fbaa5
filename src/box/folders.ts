// FoldersManager: get a folder (with its ancestors), list its items (offset or marker paging), create a folder.
import { BoxIntegrityError } from './errors.ts';
import type { BoxHttp } from './http.ts';
import { idSegment, mergeHeaders, withQuery, type RequestOptions } from './requestOptions.ts';
import type { BoxFolder, BoxItems } from './types.ts';

export interface ListItemsQuery {
  offset?: number;
  /** Marker paging instead of offsets (Box: offset paging "may fail for large datasets"); pages then carry `next_marker`. */
  usemarker?: boolean;
  /** Where the next page starts: a page's `next_marker` (with `usemarker`). */
  marker?: string;
  /** At most 1000. */
  limit?: number;
  /** Fields to return, e.g. `['name', 'size', 'sha1', 'metadata.global.properties']` (Box's `fields` query). */
  fields?: string[];
}

export class FoldersManager {
  readonly #http: BoxHttp;
  readonly #apiUrl: string;

  constructor(http: BoxHttp, apiUrl: string) {
    this.#http = http;
    this.#apiUrl = apiUrl;
  }

  /** GET {apiUrl}/2.0/folders/{folderId}/items. */
  async listItems(folderId: string, query?: ListItemsQuery, opts?: RequestOptions): Promise<BoxItems> {
    const response = await this.#http.send({
      method: 'GET',
      url: withQuery(`${this.#apiUrl}/2.0/folders/${idSegment(folderId)}/items`, {
        offset: query?.offset,
        usemarker: query?.usemarker === true ? 'true' : undefined,
        marker: query?.marker,
        limit: query?.limit,
        fields: query?.fields?.join(','),
      }),
      headers: mergeHeaders({}, opts?.extraHeaders),
      signal: opts?.signal,
      responseType: 'json',
    });
    const items = response.json as BoxItems | undefined;
    if (!items || !Array.isArray(items.entries)) {
      throw new BoxIntegrityError(`GET folder items answered ${response.status} without entries`, { status: response.status });
    }
    return items;
  }

  /** GET {apiUrl}/2.0/folders/{folderId}: the folder, with its ancestors in `path_collection`. */
  async getFolder(folderId: string, opts?: RequestOptions): Promise<BoxFolder> {
    const response = await this.#http.send({
      method: 'GET',
      url: `${this.#apiUrl}/2.0/folders/${idSegment(folderId)}`,
      headers: mergeHeaders({}, opts?.extraHeaders),
      signal: opts?.signal,
      responseType: 'json',
    });
    const folder = response.json as BoxFolder | undefined;
    if (!folder || typeof folder.id !== 'string') {
      throw new BoxIntegrityError(`GET folder answered ${response.status} without a folder`, { status: response.status });
    }
    return folder;
  }

  /** POST {apiUrl}/2.0/folders. */
  async createFolder(name: string, parentId: string, opts?: RequestOptions): Promise<BoxFolder> {
    const response = await this.#http.send({
      method: 'POST',
      url: `${this.#apiUrl}/2.0/folders`,
      headers: mergeHeaders({ 'content-type': 'application/json' }, opts?.extraHeaders),
      body: JSON.stringify({ name, parent: { id: parentId } }),
      signal: opts?.signal,
      responseType: 'json',
    });
    const folder = response.json as BoxFolder | undefined;
    if (!folder || typeof folder.id !== 'string') {
      throw new BoxIntegrityError(`POST folders answered ${response.status} without a folder`, { status: response.status });
    }
    return folder;
  }
}
