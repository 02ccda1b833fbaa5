// A loopback TCP proxy in front of the local S3 that caps what each connection carries from S3 to the
// client at a fixed rate: a stand-in for S3's per-connection bandwidth in AWS (~85-90 MB/s per request),
// which s3rver on loopback does not have. Requests pass through unchanged; only the answers are paced.
import net from 'node:net';
import type { AddressInfo } from 'node:net';

/** The most a connection may run ahead of its rate after a pause: late timers are made up for, idle time is not. */
const BURST_MS = 20;

export interface ConnectionShaper {
  /** The endpoint to give the S3 client instead of the local S3's. */
  endpoint: string;
  /** Connections opened through it so far. */
  connections(): number;
  close(): Promise<void>;
}

/**
 * Starts the proxy in front of `target` (http://host:port). Each connection's answer bytes are paced to
 * `bytesPerSecond`: once a connection is ahead of its schedule, its upstream socket is paused until the
 * schedule catches up (TCP holds the rest back, as a slow link would).
 */
export async function startConnectionShaper(target: string, bytesPerSecond: number): Promise<ConnectionShaper> {
  const upstream = new URL(target);
  const sockets = new Set<net.Socket>();
  let opened = 0;
  const server = net.createServer((client) => {
    opened++;
    const s3 = net.connect(Number(upstream.port), upstream.hostname);
    sockets.add(client).add(s3);
    // When the bytes sent so far are paid for at the rate. A connection left idle (keep-alive, between two
    // requests) earns at most BURST_MS of credit (what makes up for a late timer), not a burst of its idle time.
    let paidAt = performance.now();
    let timer: NodeJS.Timeout | undefined;
    s3.on('data', (chunk: Buffer) => {
      paidAt = Math.max(paidAt, performance.now() - BURST_MS) + (chunk.byteLength / bytesPerSecond) * 1000;
      if (!client.write(chunk)) {
        s3.pause();
        client.once('drain', () => {
          if (timer === undefined) s3.resume();
        });
      }
      // How far ahead of the rate this connection is: wait that long before reading more from S3.
      const aheadMs = paidAt - performance.now();
      if (aheadMs > 1 && timer === undefined) {
        s3.pause();
        timer = setTimeout(() => {
          timer = undefined;
          if (client.writableNeedDrain !== true) s3.resume();
        }, aheadMs);
      }
    });
    client.pipe(s3);
    const end = (): void => {
      if (timer !== undefined) clearTimeout(timer);
      client.destroy();
      s3.destroy();
      sockets.delete(client);
      sockets.delete(s3);
    };
    s3.on('end', () => client.end());
    s3.on('error', end).on('close', end);
    client.on('error', end).on('close', end);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    connections: () => opened,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
