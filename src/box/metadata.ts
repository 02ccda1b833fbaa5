// MetadataManager: the `global.properties` metadata instance of a file (free-form string key/values that
// every Box enterprise has), used to record where a file came from.
import { BoxError, BoxIntegrityError } from './errors.ts';
import type { BoxHttp } from './http.ts';
import { idSegment, mergeHeaders, type RequestOptions } from './requestOptions.ts';

/** A metadata instance: the template's fields plus Box's `$`-prefixed ones ($id, $scope, $template, ...). */
export type MetadataInstance = Record<string, unknown>;

export class MetadataManager {
  readonly #http: BoxHttp;
  readonly #apiUrl: string;

  constructor(http: BoxHttp, apiUrl: string) {
    this.#http = http;
    this.#apiUrl = apiUrl;
  }

  #url(fileId: string): string {
    return `${this.#apiUrl}/2.0/files/${idSegment(fileId)}/metadata/global/properties`;
  }

  /** GET the file's global.properties instance; undefined when the file has none (404 instance_not_found). */
  async getGlobalProperties(fileId: string, opts?: RequestOptions): Promise<MetadataInstance | undefined> {
    try {
      const response = await this.#http.send({
        method: 'GET',
        url: this.#url(fileId),
        headers: mergeHeaders({}, opts?.extraHeaders),
        signal: opts?.signal,
        responseType: 'json',
      });
      return response.json as MetadataInstance;
    } catch (err) {
      // A 404 for the file itself (not_found) is an error; only a missing instance means "none".
      if (err instanceof BoxError && err.status === 404 && /^instance(_tuple)?_not_found$/.test(err.code ?? '')) return undefined;
      throw err;
    }
  }

  /**
   * Sets `values` on the file's global.properties: POST creates the instance; when it exists already
   * (409 tuple_already_exists, e.g. a new version of a recorded file) PUT adds or replaces each key.
   */
  async setGlobalProperties(fileId: string, values: Record<string, string>, opts?: RequestOptions): Promise<MetadataInstance> {
    try {
      const response = await this.#http.send({
        method: 'POST',
        url: this.#url(fileId),
        headers: mergeHeaders({ 'content-type': 'application/json' }, opts?.extraHeaders),
        body: JSON.stringify(values),
        signal: opts?.signal,
        responseType: 'json',
      });
      return this.#instance(response.status, response.json);
    } catch (err) {
      if (!(err instanceof BoxError && err.status === 409)) throw err;
    }
    const operations = Object.entries(values).map(([key, value]) => ({ op: 'add', path: `/${key}`, value }));
    const response = await this.#http.send({
      method: 'PUT',
      url: this.#url(fileId),
      headers: mergeHeaders({ 'content-type': 'application/json-patch+json' }, opts?.extraHeaders),
      body: JSON.stringify(operations),
      signal: opts?.signal,
      responseType: 'json',
    });
    return this.#instance(response.status, response.json);
  }

  #instance(status: number, json: unknown): MetadataInstance {
    if (typeof json !== 'object' || json === null) throw new BoxIntegrityError(`metadata answered ${status} without an instance`, { status });
    return json as MetadataInstance;
  }
}
