// A fault-injecting HTTP proxy in front of a local S3 (s3rver): requests pass through unchanged, except
// those a rule matches, which get S3's own throttling answer (503 SlowDown, XML body) instead. The Lambdas'
// real S3 client (SDK retries included) talks to it as to S3.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream/promises';

export interface S3FaultRule {
  method: string;
  /** The request's Range header, exactly (e.g. `bytes=196608-262143`). */
  range: string;
  /** How many matching requests are answered 503 SlowDown (the first ones). */
  times: number;
}

export interface S3FaultProxy {
  endpoint: string;
  inject(rule: S3FaultRule): void;
  /** Requests answered with a fault, and ranged GETs passed through. */
  stats(): { slowDowns: number; rangedGets: number };
  close(): Promise<void>;
}

export async function startS3FaultProxy(target: string): Promise<S3FaultProxy> {
  const upstream = new URL(target);
  const rules: Array<S3FaultRule & { fired: number }> = [];
  let slowDowns = 0;
  let rangedGets = 0;
  const agent = new http.Agent({ keepAlive: true });
  const server = http.createServer((req, res) => {
    const range = req.headers.range;
    const rule = rules.find((r) => r.method === req.method && r.range === range && r.fired < r.times);
    if (rule !== undefined) {
      rule.fired++;
      slowDowns++;
      req.resume();
      const body = '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message><RequestId>PROXY</RequestId></Error>';
      res.writeHead(503, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(body) });
      res.end(body);
      return;
    }
    if (req.method === 'GET' && range !== undefined) rangedGets++;
    const forward = http.request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers, agent },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        pipeline(answer, res).catch(() => res.destroy());
      },
    );
    forward.on('error', () => res.destroy());
    pipeline(req, forward).catch(() => forward.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    inject: (rule) => rules.push({ ...rule, fired: 0 }),
    stats: () => ({ slowDowns, rangedGets }),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}
