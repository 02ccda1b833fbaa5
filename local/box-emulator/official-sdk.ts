// Pointing the official box-node-sdk@10 at the emulator (or any Box stand-in), with the workaround its
// retry strategy needs: it looks up 'Retry-After' in headers that it has lower-cased, so it never sees
// Box's Retry-After and crashes uploadBigFile on a commit 202 (reference §7.4). Not imported by the
// emulator itself: box-node-sdk is only a dev dependency of this project.
import { BoxClient } from 'box-node-sdk';
import type { BoxCcgAuth, BoxDeveloperTokenAuth } from 'box-node-sdk';
import { BaseUrls, BoxRetryStrategy, NetworkSession } from 'box-node-sdk/networking';
import type { FetchOptions, FetchResponse } from 'box-node-sdk/networking';

function retryAfterHeader(r: FetchResponse): string | undefined {
  return r.headers['retry-after'] ?? r.headers['Retry-After'];
}

/** Honours a lower-case retry-after, and retries a commit 202 that carries one (up to 20 times). */
class RetryAfterAware extends BoxRetryStrategy {
  override async shouldRetry(o: FetchOptions, r: FetchResponse, attempt: number): Promise<boolean> {
    if (r.status === 202 && retryAfterHeader(r) !== undefined) return attempt < 20;
    return super.shouldRetry(o, r, attempt);
  }
  override retryAfter(o: FetchOptions, r: FetchResponse, attempt: number): number {
    const ra = retryAfterHeader(r);
    return ra !== undefined ? parseFloat(ra) : super.retryAfter(o, r, attempt); // seconds in v10
  }
}

export interface OfficialSdkOptions {
  /** API base, e.g. the emulator's `url`. */
  apiUrl: string;
  /** Upload base, e.g. the emulator's `uploadUrl`. */
  uploadUrl: string;
  auth: BoxDeveloperTokenAuth | BoxCcgAuth;
  /** Use the SDK's own retry strategy (to show its 202 bug); default false. */
  stockRetries?: boolean;
  /** The strategy's base interval in seconds (SDK default 1); tests shorten it. */
  retryBaseInterval?: number;
}

/** A box-node-sdk client aimed at `apiUrl`/`uploadUrl`, with the Retry-After workaround unless `stockRetries`. */
export function officialSdkClient(o: OfficialSdkOptions): BoxClient {
  const baseUrls = new BaseUrls({ baseUrl: o.apiUrl, uploadUrl: o.uploadUrl, oauth2Url: `${o.apiUrl}/oauth2` });
  const strategyOptions = o.retryBaseInterval !== undefined ? { retryBaseInterval: o.retryBaseInterval } : {};
  const retryStrategy = o.stockRetries ? new BoxRetryStrategy(strategyOptions) : new RetryAfterAware(strategyOptions);
  return new BoxClient({ auth: o.auth, networkSession: new NetworkSession({ baseUrls, retryStrategy }) });
}
