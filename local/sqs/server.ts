// A local stand-in for Amazon SQS, as small as the trigger's on-failure queue needs: a loopback HTTP
// server speaking the AWS JSON 1.0 protocol that @aws-sdk/client-sqs uses (POST with
// `X-Amz-Target: AmazonSQS.<Operation>`), for SendMessage, ReceiveMessage (visibility timeout, no long
// polling), DeleteMessage and GetQueueAttributes (ApproximateNumberOfMessages*) on any number of queues,
// created on first use. Bodies carry MD5OfBody as SQS does (the SDK checks it). The HTTP plumbing is
// local/aws-json/server.ts (unauthenticated: loopback and tests only).
import { createHash, randomUUID } from 'node:crypto';
import { AwsJsonError as SqsError, startAwsJsonServer } from '../aws-json/server.ts';

interface StoredMessage {
  id: string;
  body: string;
  sentAt: number;
  receiveCount: number;
  /** Epoch ms before which ReceiveMessage does not hand it out. */
  invisibleUntil: number;
  receiptHandle?: string;
}

export interface LocalSqs {
  /** e.g. http://127.0.0.1:41234: give it to SQSClient as `endpoint`. */
  endpoint: string;
  /** The URL of the queue `name` (`<endpoint>/123456789012/<name>`), as SQS gives it. */
  queueUrl(name: string): string;
  /** Bodies of the messages a queue holds, visible or not, oldest first. */
  bodies(name: string): string[];
  close(): Promise<void>;
}

const ACCOUNT = '123456789012';
const TARGET_PREFIX = 'AmazonSQS.';
const DEFAULT_VISIBILITY_SECONDS = 30;

const md5 = (text: string): string => createHash('md5').update(text, 'utf8').digest('hex');

export async function startLocalSqs(options: { host?: string; port?: number } = {}): Promise<LocalSqs> {
  const queues = new Map<string, StoredMessage[]>();
  const queueOf = (body: Record<string, unknown>): StoredMessage[] => {
    const url = body.QueueUrl;
    if (typeof url !== 'string' || url === '') throw new SqsError('MissingParameter', 'The request must contain the parameter QueueUrl.');
    const name = url.slice(url.lastIndexOf('/') + 1);
    let queue = queues.get(name);
    if (queue === undefined) queues.set(name, (queue = []));
    return queue;
  };

  const operations: Record<string, (body: Record<string, unknown>) => unknown> = {
    SendMessage(body) {
      const queue = queueOf(body);
      if (typeof body.MessageBody !== 'string' || body.MessageBody === '') throw new SqsError('MissingParameter', 'The request must contain the parameter MessageBody.');
      const message: StoredMessage = { id: randomUUID(), body: body.MessageBody, sentAt: Date.now(), receiveCount: 0, invisibleUntil: 0 };
      queue.push(message);
      return { MessageId: message.id, MD5OfMessageBody: md5(message.body) };
    },
    ReceiveMessage(body) {
      const queue = queueOf(body);
      const max = typeof body.MaxNumberOfMessages === 'number' ? body.MaxNumberOfMessages : 1;
      if (max < 1 || max > 10) throw new SqsError('InvalidParameterValue', 'Value for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10.');
      const visibility = typeof body.VisibilityTimeout === 'number' ? body.VisibilityTimeout : DEFAULT_VISIBILITY_SECONDS;
      const now = Date.now();
      const picked = queue.filter((m) => m.invisibleUntil <= now).slice(0, max);
      for (const m of picked) {
        m.receiveCount += 1;
        m.invisibleUntil = now + visibility * 1000;
        m.receiptHandle = `${m.id}#${randomUUID()}`;
      }
      return {
        Messages: picked.map((m) => ({
          MessageId: m.id,
          ReceiptHandle: m.receiptHandle,
          MD5OfBody: md5(m.body),
          Body: m.body,
          Attributes: { ApproximateReceiveCount: String(m.receiveCount), SentTimestamp: String(m.sentAt) },
        })),
      };
    },
    DeleteMessage(body) {
      const queue = queueOf(body);
      const handle = body.ReceiptHandle;
      const index = queue.findIndex((m) => m.receiptHandle !== undefined && m.receiptHandle === handle);
      if (index < 0) throw new SqsError('ReceiptHandleIsInvalid', `The input receipt handle "${String(handle)}" is not a valid receipt handle.`);
      queue.splice(index, 1);
      return {};
    },
    GetQueueAttributes(body) {
      const queue = queueOf(body);
      const now = Date.now();
      const visible = queue.filter((m) => m.invisibleUntil <= now).length;
      return { Attributes: { ApproximateNumberOfMessages: String(visible), ApproximateNumberOfMessagesNotVisible: String(queue.length - visible) } };
    },
  };

  const server = await startAwsJsonServer(
    {
      targetPrefix: TARGET_PREFIX,
      operations,
      unknownOperationCode: 'UnsupportedOperation',
      malformedBodyCode: 'InvalidParameterValue',
      errorAnswer(err) {
        const e = err instanceof SqsError ? err : new SqsError('InternalError', err instanceof Error ? err.message : String(err), 500);
        // awsQueryCompatible: the SDK reads the error code from this header too.
        return { status: e.status, body: { __type: `com.amazonaws.sqs#${e.code}`, message: e.message }, headers: { 'x-amzn-query-error': `${e.code};Sender` } };
      },
    },
    options,
  );
  const { endpoint } = server;

  return {
    endpoint,
    queueUrl: (name) => `${endpoint}/${ACCOUNT}/${name}`,
    bodies: (name) => (queues.get(name) ?? []).map((m) => m.body),
    close: () => server.close(),
  };
}
