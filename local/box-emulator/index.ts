// The Box upload emulator: a local stand-in for Box's upload API (its options and behaviours: local/box-emulator/README.md).
// Start it with startBoxEmulator(options); point a Box client at `url` (API) and `uploadUrl` (uploads).
import http from 'node:http';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { TokenStore } from './auth.ts';
import type { EmulatorConfig, EmulatorEnv } from './context.ts';
import { FaultInjector } from './faults.ts';
import { Counters, createRequestHandler } from './server.ts';
import { LinkShaper } from './shaping.ts';
import { ROOT_FOLDER_ID, Store, latest, userMini, validateItemName } from './store.ts';
import { COMMIT_202_BODIES, COMMITTED_SESSION_ANSWERS, MARKER_PAGINGS, PREFLIGHT_ANSWERS } from './types.ts';
import type { BoxEmulator, BoxEmulatorOptions, BoxFile, CommitProcessing, CommittedSessionAnswer } from './types.ts';

export type * from './types.ts';
export { COMMIT_202_BODIES, COMMITTED_SESSION_ANSWERS, MARKER_PAGINGS, OPERATIONS, PREFLIGHT_ANSWERS } from './types.ts';

const MiB = 1024 * 1024;
export const DEFAULT_MIN_CHUNKED_FILE_SIZE = 20_000_000;
export const MAX_PARTS = 10_000;

/** Default part size policy: the smallest power of two >= 8 MiB that keeps total parts <= 10,000. */
export function defaultPartSize(fileSize: number): number {
  let size = 8 * MiB;
  while (Math.ceil(fileSize / size) > MAX_PARTS) size *= 2;
  return size;
}

function checkCommitProcessing(cp: CommitProcessing): CommitProcessing {
  if (cp.mode === 'count' && (!Number.isInteger(cp.times) || cp.times < 0)) throw new RangeError('commitProcessing.times must be an integer >= 0');
  if (cp.mode === 'proportional' && !(cp.bytesPerSecond > 0)) throw new RangeError('commitProcessing.bytesPerSecond must be > 0');
  if (cp.mode !== 'none' && !(cp.retryAfterSeconds >= 0)) throw new RangeError('commitProcessing.retryAfterSeconds must be >= 0');
  return cp;
}

function checkCommittedSession(answer: CommittedSessionAnswer): CommittedSessionAnswer {
  if (!COMMITTED_SESSION_ANSWERS.includes(answer)) throw new RangeError(`committedSession must be one of ${COMMITTED_SESSION_ANSWERS.join(', ')}`);
  return answer;
}

function oneOf<T extends string | number>(option: string, value: T, allowed: readonly T[]): T {
  if (!allowed.includes(value)) throw new RangeError(`${option} must be one of ${allowed.join(', ')}`);
  return value;
}

export async function startBoxEmulator(options: BoxEmulatorOptions = {}): Promise<BoxEmulator> {
  const host = options.host ?? '127.0.0.1';
  const ownsDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(path.join(os.tmpdir(), 'box-emulator-')));
  await mkdir(dataDir, { recursive: true });
  const devTokens = options.tokens ?? ['dev-token'];
  const fixedPartSize = options.partSize;
  if (typeof fixedPartSize === 'number' && !(Number.isSafeInteger(fixedPartSize) && fixedPartSize > 0)) {
    throw new RangeError('partSize must be a positive integer');
  }
  const config: EmulatorConfig = {
    partSizeFor: typeof fixedPartSize === 'function' ? fixedPartSize : typeof fixedPartSize === 'number' ? () => fixedPartSize : defaultPartSize,
    minChunkedFileSize: options.minChunkedFileSize ?? DEFAULT_MIN_CHUNKED_FILE_SIZE,
    maxFileSize: options.maxFileSize ?? Number.MAX_SAFE_INTEGER,
    commitProcessing: checkCommitProcessing(options.commitProcessing ?? { mode: 'none' }),
    commit202Body: oneOf('commit202Body', options.commit202Body ?? 'empty', COMMIT_202_BODIES),
    sessionTtlMs: (options.sessionTtlSeconds ?? 7 * 24 * 3600) * 1000,
    partDigestMismatchStatus: options.partDigestMismatchStatus ?? 412,
    overlapContext: options.overlapContext ?? 'part',
    overlapStatus: oneOf<416 | 409>('overlapStatus', options.overlapStatus ?? 416, [416, 409]),
    committedSession: checkCommittedSession(options.committedSession ?? 'same-file'),
    preflight: oneOf('preflight', options.preflight ?? 'conflicts-object', PREFLIGHT_ANSWERS),
    markerPaging: oneOf('markerPaging', options.markerPaging ?? 'null-at-end', MARKER_PAGINGS),
  };
  const lifetime = new AbortController();
  const store = new Store(dataDir);
  const tokens = new TokenStore({
    devTokens,
    clientId: options.clientId ?? 'emulator-client-id',
    clientSecret: options.clientSecret ?? 'emulator-client-secret',
    ttlSeconds: options.tokenTtlSeconds ?? 3600,
    ...(options.jwtPublicKeys !== undefined ? { jwtPublicKeys: options.jwtPublicKeys } : {}),
  });
  const faults = new FaultInjector();
  const counters = new Counters();
  const env: EmulatorEnv = {
    store,
    tokens,
    config,
    shaper: new LinkShaper(options.bandwidthBytesPerSecond, lifetime.signal),
    signal: lifetime.signal,
    baseUrl: '', // set once the port is known
  };
  const handle = createRequestHandler({ env, faults, counters, latencyMs: options.latencyMs ?? 0, onRequest: options.onRequest });
  const inFlight = new Set<Promise<void>>();
  const server = http.createServer((req, res) => {
    const p = handle(req, res).catch(() => void res.destroy());
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
  });
  // Parts can be large and throttled: no whole-request timeout. Idle keep-alive connections live longer
  // than clients keep them (undici 4 s, Node agents 5 s), so a client never reuses a socket the server
  // is closing at that very moment.
  server.requestTimeout = 0;
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 70_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  env.baseUrl = url;

  let closed: Promise<void> | undefined;
  const fileRecord = (fileId: string) => {
    const f = store.files.get(fileId);
    if (f === undefined) throw new Error(`no file ${fileId} in the emulator`);
    return f;
  };

  return {
    url,
    uploadUrl: `${url}/api`,
    token: devTokens[0] ?? '',
    dataDir,
    port,
    faults: { inject: (rule) => faults.inject(rule), clear: () => faults.clear() },
    stats: () => counters.snapshot(),
    resetStats: () => counters.reset(),
    createFolder: async (name: string, parentId = ROOT_FOLDER_ID) => {
      validateItemName(name, 'bad_request');
      if (store.folder(parentId) === undefined) throw new Error(`no folder ${parentId} in the emulator`);
      store.assertNameFree(parentId, name);
      return { id: store.createFolderRecord(name, parentId, userMini(tokens.seedOwner())).id };
    },
    readFileContent: (fileId: string) => readFile(latest(fileRecord(fileId)).path),
    fileContentPath: (fileId: string) => latest(fileRecord(fileId)).path,
    getFile: (fileId: string): BoxFile | undefined => {
      const f = store.files.get(fileId);
      return f === undefined ? undefined : store.fileJson(f);
    },
    findFile: (folderId: string, name: string): BoxFile | undefined => {
      const f = store.itemNamed(folderId, name)?.file;
      return f === undefined ? undefined : store.fileJson(f);
    },
    findFolder: (parentId: string, name: string): { id: string } | undefined => {
      const d = store.itemNamed(parentId, name)?.folder;
      return d === undefined ? undefined : { id: d.id };
    },
    listSessions: () => [...store.sessions.values()].map((s) => store.sessionSummary(s)),
    expireTokens: () => tokens.expireAll(),
    expireSessions: () => {
      for (const s of store.sessions.values()) if (s.status === 'open') s.expiresAt = Math.min(s.expiresAt, Date.now());
    },
    settled: async () => {
      for (;;) {
        // Two turns of the event loop take in a poll phase: bytes already on a socket are read and their
        // requests' handlers started.
        await new Promise<void>((resolve) => setImmediate(resolve));
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (inFlight.size === 0) return;
        await Promise.allSettled([...inFlight]);
      }
    },
    close: () => {
      closed ??= (async () => {
        lifetime.abort();
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeAllConnections();
        await stopped;
        await Promise.allSettled([...inFlight]);
        await Promise.allSettled([...store.sessions.values()].map((s) => s.hashing));
        if (ownsDataDir) await rm(dataDir, { recursive: true, force: true });
      })();
      return closed;
    },
  };
}
