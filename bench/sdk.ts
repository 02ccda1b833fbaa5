// The official box-node-sdk@10 pointed at the emulator, with the Retry-After workaround of
// reference/box-chunked-upload-api.md §7.4: the SDK looks up 'Retry-After' in lower-cased headers,
// so without this a commit 202 makes uploadBigFile crash instead of waiting.
import { BoxClient, BoxDeveloperTokenAuth } from 'box-node-sdk';
import { BaseUrls, BoxRetryStrategy, NetworkSession } from 'box-node-sdk/networking';
import type { FetchOptions, FetchResponse } from 'box-node-sdk/networking';

function retryAfterHeader(r: FetchResponse): string | undefined {
  return r.headers['retry-after'] ?? r.headers['Retry-After'];
}

export class RetryAfterAware extends BoxRetryStrategy {
  override async shouldRetry(o: FetchOptions, r: FetchResponse, attempt: number): Promise<boolean> {
    if (r.status === 202 && retryAfterHeader(r) !== undefined) return attempt < 20;
    return super.shouldRetry(o, r, attempt);
  }
  override retryAfter(o: FetchOptions, r: FetchResponse, attempt: number): number {
    const ra = retryAfterHeader(r);
    return ra !== undefined ? parseFloat(ra) : super.retryAfter(o, r, attempt); // seconds in v10
  }
}

export interface EmulatorTarget {
  apiUrl: string;
  uploadUrl: string;
  token: string;
}

/** The SDK as a user would build it, plus the workaround; retry timings stay the SDK's defaults. */
export function sdkClient(target: EmulatorTarget): BoxClient {
  const baseUrls = new BaseUrls({ baseUrl: target.apiUrl, uploadUrl: target.uploadUrl, oauth2Url: `${target.apiUrl}/oauth2` });
  return new BoxClient({
    auth: new BoxDeveloperTokenAuth({ token: target.token }),
    networkSession: new NetworkSession({ baseUrls, retryStrategy: new RetryAfterAware({}) }),
  });
}
