// Per-call options every Box operation accepts, and the URL plumbing the managers share.

export interface RequestOptions {
  /** Added to (and overriding) the operation's own headers; names are case-insensitive. */
  extraHeaders?: Record<string, string> | undefined;
  /** Cancels the call (and its retries); it then rejects with Box.Aborted. */
  signal?: AbortSignal | undefined;
}

/** The operation's headers with the caller's extra headers merged in, all names lower case. */
export function mergeHeaders(own: Record<string, string | undefined>, extra: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(own)) if (value !== undefined) out[name.toLowerCase()] = value;
  if (extra) for (const [name, value] of Object.entries(extra)) out[name.toLowerCase()] = value;
  return out;
}

/** Appends query parameters (skipping undefined) to a URL that may already carry a query. */
export function withQuery(url: string, query: Record<string, string | number | undefined>): string {
  const params = new URLSearchParams();
  for (const [name, value] of Object.entries(query)) if (value !== undefined) params.set(name, String(value));
  const text = params.toString();
  if (text === '') return url;
  return `${url}${url.includes('?') ? '&' : '?'}${text}`;
}

/** Drops trailing slashes so that `${base}/2.0/...` never doubles them. */
export function trimBase(url: string): string {
  return url.replace(/\/+$/, '');
}

/** Path segment for an id coming from a caller. */
export function idSegment(id: string): string {
  if (typeof id !== 'string' || id === '') throw new TypeError('an id must be a non-empty string');
  return encodeURIComponent(id);
}
