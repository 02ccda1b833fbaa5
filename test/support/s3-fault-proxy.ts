// A fault-injecting HTTP proxy in front of a local S3 (s3rver), or of a local AWS JSON service (the local
// Step Functions API or SQS: rules match their X-Amz-Target): requests pass through unchanged, except
// those a rule matches, which get S3's own throttling answer (503 SlowDown, XML body), no answer at all
// until the test lets them go (a stalled service), or the headers and the first bytes of the body and then
// nothing more (a stalled body) or a closed connection (a reset mid-body); a rule may wait for the test first. The Lambdas' real SDK clients (retries included) talk to it as to AWS.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream/promises';

export type S3FaultAction =
  /** S3's 503 SlowDown (the default). */
  | { type: 'slowDown' }
  /** No answer until `until` settles, then the request goes on to S3 (unless its client gave up meanwhile). */
  | { type: 'hold'; until: Promise<void> }
  /** S3's headers and the first `bytes` bytes of its body, then nothing more until the client gives up. */
  | { type: 'stallBody'; bytes: number }
  /** S3's headers and the first `bytes` bytes of its body, then the connection closes (a reset mid-body). */
  | { type: 'closeBody'; bytes: number };

export interface S3FaultRule {
  method: string;
  /** The request's Range header, exactly (e.g. `bytes=196608-262143`); absent: only requests without one. */
  range?: string;
  /** An AWS JSON service's operation, as its X-Amz-Target names it (e.g. `AWSStepFunctions.StartExecution`); absent: any. */
  target?: string;
  /** How many matching requests get the fault (the first ones, from the nth on). */
  times: number;
  /** The first matching request that gets it (default 1): e.g. 2 skips Prepare's HeadObject. */
  nth?: number;
  action?: S3FaultAction;
  /** The fault waits until this settles (the request gets no answer meanwhile): e.g. until the client read something else. */
  after?: Promise<void>;
}

export interface S3FaultStats {
  /** Requests answered 503 SlowDown. */
  slowDowns: number;
  /** Ranged GETs passed through. */
  rangedGets: number;
  /** Requests held or stalled by a rule. */
  stalled: number;
  /** Of those, requests whose client closed the connection before it got a whole answer. */
  abandoned: number;
}

export interface S3FaultProxy {
  endpoint: string;
  inject(rule: S3FaultRule): void;
  stats(): S3FaultStats;
  /** The Range header of every GET it received, in order (faulted ones included). */
  rangesSeen(): string[];
  /** Resolves once `n` requests in all have been held or stalled (the client is waiting on S3). */
  stalledAtLeast(n: number): Promise<void>;
  /** Resolves once the clients of `n` held or stalled requests have given up on them. */
  abandonedAtLeast(n: number): Promise<void>;
  close(): Promise<void>;
}

const SLOW_DOWN_BODY =
  '<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message><RequestId>PROXY</RequestId></Error>';

export async function startS3FaultProxy(target: string): Promise<S3FaultProxy> {
  const upstream = new URL(target);
  const rules: Array<S3FaultRule & { seen: number; fired: number }> = [];
  const stats: S3FaultStats = { slowDowns: 0, rangedGets: 0, stalled: 0, abandoned: 0 };
  const waiters: Array<{ done: () => boolean; resolve: () => void }> = [];
  const changed = (): void => {
    for (const w of waiters.splice(0)) {
      if (w.done()) w.resolve();
      else waiters.push(w);
    }
  };
  const until = (done: () => boolean): Promise<void> =>
    done() ? Promise.resolve() : new Promise<void>((resolve) => waiters.push({ done, resolve }));
  const agent = new http.Agent({ keepAlive: true });

  /** The fault for this request, if a rule has one due (every matching rule counts the request). */
  const faultFor = (req: http.IncomingMessage): S3FaultRule | undefined => {
    let due: S3FaultRule | undefined;
    for (const rule of rules) {
      if (rule.method !== req.method || rule.range !== req.headers.range) continue;
      if (rule.target !== undefined && rule.target !== req.headers['x-amz-target']) continue;
      rule.seen++;
      if (due === undefined && rule.seen >= (rule.nth ?? 1) && rule.fired < rule.times) {
        rule.fired++;
        due = rule;
      }
    }
    return due;
  };

  const forward = (req: http.IncomingMessage, res: http.ServerResponse, stallAfter?: number, close = false): void => {
    const upstreamReq = http.request(
      { host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers: req.headers, agent },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        if (stallAfter === undefined) {
          pipeline(answer, res).catch(() => res.destroy());
          return;
        }
        // The first bytes, then silence (S3 stalls mid-body) or the connection closed once they are written.
        let sent = 0;
        answer.on('data', (chunk: Buffer) => {
          const room = stallAfter - sent;
          const last = close && room > 0 && room <= chunk.byteLength;
          if (room > 0) res.write(chunk.subarray(0, room), () => (last ? res.socket?.destroy() : undefined));
          sent += chunk.byteLength;
        });
        answer.on('error', () => res.destroy());
      },
    );
    upstreamReq.on('error', () => res.destroy());
    pipeline(req, upstreamReq).catch(() => upstreamReq.destroy());
  };

  const answer = (req: http.IncomingMessage, res: http.ServerResponse, fault: S3FaultAction | undefined): void => {
    if (fault?.type === 'slowDown') {
      stats.slowDowns++;
      req.resume();
      res.writeHead(503, { 'content-type': 'application/xml', 'content-length': Buffer.byteLength(SLOW_DOWN_BODY) });
      res.end(SLOW_DOWN_BODY);
      return;
    }
    if (req.method === 'GET' && req.headers.range !== undefined) stats.rangedGets++;
    if (fault === undefined) {
      forward(req, res);
      return;
    }
    stats.stalled++;
    let gaveUp = false;
    res.once('close', () => {
      if (res.writableFinished) return;
      gaveUp = true;
      stats.abandoned++;
      changed();
    });
    changed();
    if (fault.type === 'stallBody' || fault.type === 'closeBody') forward(req, res, fault.bytes, fault.type === 'closeBody');
    else {
      const go = (): void => {
        if (!gaveUp) forward(req, res);
      };
      fault.until.then(go, go);
    }
  };
  const ranges: string[] = [];
  const server = http.createServer((req, res) => {
    if (req.method === 'GET' && req.headers.range !== undefined) ranges.push(req.headers.range);
    const rule = faultFor(req);
    if (rule?.after !== undefined) {
      const go = (): void => answer(req, res, rule.action ?? { type: 'slowDown' });
      rule.after.then(go, go);
    } else answer(req, res, rule === undefined ? undefined : (rule.action ?? { type: 'slowDown' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    inject: (rule) => rules.push({ ...rule, seen: 0, fired: 0 }),
    stats: () => ({ ...stats }),
    rangesSeen: () => [...ranges],
    stalledAtLeast: (n) => until(() => stats.stalled >= n),
    abandonedAtLeast: (n) => until(() => stats.abandoned >= n),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}
