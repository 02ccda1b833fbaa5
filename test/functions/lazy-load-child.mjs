// Child process of lazy-load.test.ts: imports one Lambda handler module (the TypeScript source, or a
// bundle built like serverless.yml builds it), then runs one invocation, and reports what was loaded by
// then: every module URL Node loaded (a load hook), whether the X-Ray SDK's cls-hooked context exists
// (process.namespaces, set when the Tracer is imported), and with `secret`, whether the Box client could be
// built from a secret served by a loopback Secrets Manager stand-in.
//   node lazy-load-child.mjs MODULE [secret]
// Prints one JSON line last: { afterImport: {...}, afterInvocation: {...} }.
import { createServer } from 'node:http';
import { register } from 'node:module';
import { pathToFileURL } from 'node:url';
import { MessageChannel } from 'node:worker_threads';

const [modulePath, mode] = process.argv.slice(2);
const loaded = [];
const { port1, port2 } = new MessageChannel();
port1.on('message', (url) => loaded.push(url));
port1.unref();
const hooks = `let port;
export function initialize(data) { port = data.port; }
export async function load(url, context, next) { port.postMessage(url); return next(url, context); }`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`, { data: { port: port2 }, transferList: [port2] });

// The load hook runs on its own thread and its messages arrive in order: import a module of our own and wait
// until its URL has arrived; every module loaded before it has then been reported.
let sentinels = 0;
async function settle() {
  const sentinel = new URL(`data:text/javascript,${encodeURIComponent(`export default ${++sentinels};`)}`).href;
  await import(sentinel);
  while (!loaded.includes(sentinel)) await new Promise((resolve) => setTimeout(resolve, 1));
}

async function observe() {
  await settle();
  return {
    xrayContext: process.namespaces !== undefined,
    tracerModule: loaded.some((u) => u.includes('/@aws-lambda-powertools/tracer/') || u.includes('/aws-xray-sdk-core/')),
    secretsModule: loaded.some((u) => u.includes('/@aws-sdk/client-secrets-manager/') || u.includes('/@aws-lambda-powertools/parameters/')),
  };
}

let secretRequests = 0;
let server;
if (mode === 'secret') {
  // Secrets Manager's JSON protocol, enough for GetSecretValue.
  server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      secretRequests++;
      res.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
      res.end(JSON.stringify({ ARN: process.env.BOX_SECRET_ARN, Name: 'box', SecretString: JSON.stringify({ developerToken: 'lazy-load-token' }), VersionId: 'v1' }));
    });
  });
  await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
  process.env.AWS_ENDPOINT_URL_SECRETS_MANAGER = `http://127.0.0.1:${server.address().port}`;
}

const mod = await import(pathToFileURL(modulePath).href);
const afterImport = await observe();

const executionId = 'arn:aws:states:us-east-1:123456789012:execution:s3-to-box-dev:lazy-load';
const transfer = { source: { bucket: 'exports', key: 'big/file.bin' }, session: { id: 'SESSION1' } };
const context = {
  awsRequestId: 'req-1',
  functionName: 's3-to-box-dev-describeFailure',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:s3-to-box-dev-describeFailure',
  memoryLimitInMB: '512',
  getRemainingTimeInMillis: () => 30_000,
};
let boxBuilt = false;
if (typeof mod.handler === 'function') {
  const result = await mod.handler(
    { executionId, input: { source: transfer.source, destination: { folderId: '1' } }, state: { transfer, error: { Error: 'Transfer.SourceChanged', Cause: 'changed' } } },
    context,
  );
  if (result?.error !== 'Transfer.SourceChanged') throw new Error(`unexpected result ${JSON.stringify(result)}`);
}
if (typeof mod.defaultDeps === 'function') {
  const client = await mod.defaultDeps().box();
  boxBuilt = typeof client?.chunkedUploads === 'object';
  await client.close?.();
}
const afterInvocation = { ...(await observe()), boxBuilt, secretRequests };
server?.close();
process.stdout.write(`\n${JSON.stringify({ afterImport, afterInvocation })}\n`);
