// A local endpoint given on the command line that nothing listens on (the local S3 or the Box emulator not
// started, a wrong port) would fail every request of the run as a network error, which the state machine
// retries for minutes before it says anything final. One TCP connection before the run tells at once.
import net from 'node:net';
import { ConfigurationError } from '../../src/transfer/errors.ts';

/** Answers that are final for an address: nothing listens there, or the host name does not exist. */
const NOTHING_THERE = new Set(['ECONNREFUSED', 'ENOTFOUND']);

/**
 * Connects to `url`'s host and port and closes at once. Refused, or a host name that does not resolve, is
 * Transfer.ConfigurationError naming `option`; any other outcome (connected, slow, another error) lets the run
 * go on, its own retries deciding, so a busy or distant endpoint is never refused here.
 */
async function requireListening(url: string, option: string, waitMs = 2000): Promise<void> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    // A default from the environment (BOX_API_URL, BOX_UPLOAD_URL), which the option's parser never saw.
    throw new ConfigurationError(`${option} ${JSON.stringify(url)} is not an http(s) URL`);
  }
  const host = u.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = Number(u.port || (u.protocol === 'https:' ? 443 : 80));
  const refusal = await new Promise<NodeJS.ErrnoException | undefined>((resolve) => {
    const socket = net.connect({ host, port });
    const end = (err?: NodeJS.ErrnoException): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(err !== undefined && NOTHING_THERE.has(err.code ?? '') ? err : undefined);
    };
    const timer = setTimeout(() => end(), waitMs);
    socket.once('connect', () => end());
    socket.once('error', (err: NodeJS.ErrnoException) => end(err));
  });
  if (refusal !== undefined) {
    const why = refusal.code === 'ENOTFOUND' ? `the host ${host} is not known` : `nothing accepts connections on ${host}:${port}`;
    throw new ConfigurationError(`${option} ${url}: ${why} (${refusal.code}); start the server or correct the URL`);
  }
}

/** Box's own hosts (the defaults): not probed, a run against real Box finds out by itself. */
function isBoxHost(url: string): boolean {
  const host = URL.canParse(url) ? new URL(url).hostname : '';
  return host === 'box.com' || host.endsWith('.box.com');
}

/**
 * The endpoints of a local run's Lambdas (`env` as lambdaEnvFor builds it): the S3 endpoint, and Box URLs that
 * are not Box's own, each checked with requireListening under the option that sets it.
 */
export async function requireEndpointsListening(env: Record<string, string | undefined>): Promise<void> {
  if (env.S3_ENDPOINT) await requireListening(env.S3_ENDPOINT, '--s3-endpoint');
  for (const [name, option] of [
    ['BOX_API_URL', '--box-api-url'],
    ['BOX_UPLOAD_URL', '--box-upload-url'],
  ] as const) {
    const url = env[name];
    if (url && !isBoxHost(url)) await requireListening(url, option);
  }
}
