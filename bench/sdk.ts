// The official box-node-sdk@10 pointed at the emulator, with a Retry-After workaround: the SDK looks up
// 'Retry-After' in lower-cased headers,
// so without this a commit 202 makes uploadBigFile crash instead of waiting.
import { BoxDeveloperTokenAuth } from 'box-node-sdk';
import type { BoxClient } from 'box-node-sdk';
import { officialSdkClient } from '../local/box-emulator/official-sdk.ts';

export interface EmulatorTarget {
  apiUrl: string;
  uploadUrl: string;
  token: string;
}

/** The SDK as a user would build it, plus the workaround; retry timings stay the SDK's defaults. */
export function sdkClient(target: EmulatorTarget): BoxClient {
  return officialSdkClient({ apiUrl: target.apiUrl, uploadUrl: target.uploadUrl, auth: new BoxDeveloperTokenAuth({ token: target.token }) });
}
