// The Box upload emulator: a local stand-in for Box's upload API (see notes/api-emulator.md).
// SKELETON: the handle and types are final; endpoints are being built out.
import http from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { BoxEmulator, BoxEmulatorOptions, BoxStats, FaultRule, Operation } from './types.ts';
import { OPERATIONS } from './types.ts';

export type * from './types.ts';
export { OPERATIONS } from './types.ts';

export async function startBoxEmulator(options: BoxEmulatorOptions = {}): Promise<BoxEmulator> {
  const host = options.host ?? '127.0.0.1';
  const ownsDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(path.join(os.tmpdir(), 'box-emulator-')));
  const tokens = options.tokens ?? ['dev-token'];
  const faults: FaultRule[] = [];
  const zero = (): Record<Operation, number> =>
    Object.fromEntries(OPERATIONS.map((op) => [op, 0])) as Record<Operation, number>;
  let requests = zero();
  const server = http.createServer((_req, res) => {
    res.writeHead(501, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ type: 'error', status: 501, code: 'not_implemented', message: 'emulator skeleton' }));
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, host, resolve));
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host}:${port}`;
  return {
    url,
    uploadUrl: `${url}/api`,
    token: tokens[0] ?? 'dev-token',
    dataDir,
    port,
    faults: { inject: (rule) => void faults.push(rule), clear: () => void faults.splice(0) },
    stats: (): BoxStats => ({ requests: { ...requests }, maxPartsInFlight: 0, partsInFlight: 0 }),
    resetStats: () => void (requests = zero()),
    createFolder: () => Promise.reject(new Error('not implemented yet')),
    readFileContent: () => Promise.reject(new Error('not implemented yet')),
    fileContentPath: () => {
      throw new Error('not implemented yet');
    },
    getFile: () => undefined,
    findFile: () => undefined,
    listSessions: () => [],
    expireTokens: () => undefined,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (ownsDataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}
