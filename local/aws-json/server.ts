// The loopback HTTP plumbing the local AWS stand-ins share (local/sfn, local/sqs): the AWS JSON 1.0
// protocol the SDK clients speak (POST, `X-Amz-Target: <Service>.<Operation>`, a JSON object body), one
// handler per operation, and errors as `{ __type, message }` with the service's own error shapes.
// Requests are not authenticated (SigV4 signatures are accepted unchecked): loopback and tests only.
import { randomUUID } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

/** An error the service answers with its code and HTTP status (default 400). */
export class AwsJsonError extends Error {
  readonly code: string;
  readonly status: number;
  constructor(code: string, message: string, status = 400) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

export type AwsJsonOperation = (body: Record<string, unknown>) => unknown;

export interface AwsJsonService {
  /** e.g. `AmazonSQS.`: the X-Amz-Target prefix before the operation name. */
  targetPrefix: string;
  operations: Record<string, AwsJsonOperation>;
  /** The error code for a target no operation answers. */
  unknownOperationCode: string;
  /** The error code for a body that is not a JSON object. */
  malformedBodyCode: string;
  /** Refuse a Content-Type other than application/x-amz-json-1.0 (Step Functions does). */
  requireJsonContentType?: boolean;
  /** The answer to an error: an AwsJsonError, or anything else an operation threw. */
  errorAnswer(error: unknown): { status: number; body: unknown; headers?: Record<string, string> };
}

export interface AwsJsonServer {
  /** e.g. http://127.0.0.1:41234: what the SDK client takes as `endpoint`. */
  endpoint: string;
  close(): Promise<void>;
}

const CONTENT_TYPE = 'application/x-amz-json-1.0';

/** Starts `service` on a loopback port (default 127.0.0.1, a free port). */
export async function startAwsJsonServer(service: AwsJsonService, options: { host?: string; port?: number } = {}): Promise<AwsJsonServer> {
  const answer = async (req: http.IncomingMessage, raw: Buffer): Promise<unknown> => {
    const target = String(req.headers['x-amz-target'] ?? '');
    const op = target.startsWith(service.targetPrefix) ? service.operations[target.slice(service.targetPrefix.length)] : undefined;
    if (req.method !== 'POST' || op === undefined) throw new AwsJsonError(service.unknownOperationCode, `Unsupported operation ${target || '(none)'}`);
    if (service.requireJsonContentType === true && !String(req.headers['content-type'] ?? '').startsWith(CONTENT_TYPE)) {
      throw new AwsJsonError(service.malformedBodyCode, `Content-Type must be ${CONTENT_TYPE}`);
    }
    let body: unknown;
    try {
      body = JSON.parse(raw.toString('utf8') || '{}');
    } catch {
      throw new AwsJsonError(service.malformedBodyCode, 'The request body is not valid JSON');
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new AwsJsonError(service.malformedBodyCode, 'The request body must be a JSON object');
    return op(body as Record<string, unknown>);
  };

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const send = (status: number, payload: unknown, headers: Record<string, string> = {}): void => {
        const text = JSON.stringify(payload);
        res.writeHead(status, { 'Content-Type': CONTENT_TYPE, 'Content-Length': Buffer.byteLength(text), 'x-amzn-RequestId': randomUUID(), ...headers });
        res.end(text);
      };
      answer(req, Buffer.concat(chunks)).then(
        (result) => send(200, result),
        (error: unknown) => {
          const { status, body, headers } = service.errorAnswer(error);
          send(status, body, headers);
        },
      );
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const { port, address } = server.address() as AddressInfo;
  return {
    endpoint: `http://${address.includes(':') ? `[${address}]` : address}:${port}`,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
