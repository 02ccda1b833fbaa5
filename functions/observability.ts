// What every Lambda of the stack does around its core, with Powertools for AWS Lambda (TypeScript):
// structured JSON logs (cold start, request id, correlation ids), CloudWatch metrics in EMF, and
// X-Ray traces. Only functions/ imports this: the core in src/ logs through its own small Logger port,
// which portLogger backs with Powertools here; the local runner and the CLI back it with their display.
//
// The Tracer is imported only where tracing runs (LazyTracer): importing it loads the X-Ray SDK, whose
// cls-hooked context installs async hooks that slow every promise of the process, whether or not
// anything is traced.
import { Logger as PowertoolsLogger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { Tracer } from '@aws-lambda-powertools/tracer';
import middy from '@middy/core';
import type { MiddlewareObj } from '@middy/core';
import type { Context } from 'aws-lambda';
import { safeFields } from '../src/transfer/logger.ts';
import type { LogFields, Logger } from '../src/transfer/logger.ts';

/** The service name on every log line, metric and trace (POWERTOOLS_SERVICE_NAME overrides it). */
export const SERVICE_NAME = 's3-to-box';
/** The CloudWatch namespace of the metrics (POWERTOOLS_METRICS_NAMESPACE overrides it). */
const METRICS_NAMESPACE = 'S3ToBox';

/**
 * The metrics the handlers emit; the dashboard in serverless.yml reads these names. A transfer's duration
 * is Step Functions' own ExecutionTime metric (AWS/States), so no handler measures it again.
 */
export const METRIC = {
  /** Bytes of the parts an UploadBatch stored (or found stored), and of a direct upload. */
  bytesTransferred: 'BytesTransferred',
  /** Parts an UploadBatch sent to Box. */
  partsUploaded: 'PartsUploaded',
  /** Parts a re-run UploadBatch found already stored in Box (its earlier run's work). */
  partsAlreadyStored: 'PartsAlreadyStored',
  /** Box HTTP requests the client retried (429, 5xx, network). */
  boxRetries: 'BoxRetries',
  /** S3 ranged reads the lean reader left (some of) to the SDK: an error answer, or a connection that failed. */
  s3LeanFallbacks: 'S3LeanFallbacks',
  /** Transfers that ended with a Box file. */
  transfersSucceeded: 'TransfersSucceeded',
  /** Transfers that failed, with the dimension ErrorName. */
  transfersFailed: 'TransfersFailed',
  /** Seconds the commit loop waited for Box to process the file. */
  commitWait: 'CommitWait',
} as const;

/** One metric value a handler reports; `dimensions` makes it a metric of its own (e.g. ErrorName). */
export interface Measurement {
  name: (typeof METRIC)[keyof typeof METRIC];
  unit: 'Count' | 'Bytes' | 'Seconds';
  value: number;
  dimensions?: Record<string, string>;
}

export interface Telemetry {
  logger: PowertoolsLogger;
  metrics: Metrics;
  tracer: LazyTracer;
}

type Env = Record<string, string | undefined>;

/**
 * Does X-Ray tracing run here? Powertools Tracer's own rule: in a Lambda execution environment
 * (AWS_EXECUTION_ENV), not SAM CLI or the Amplify mock, and POWERTOOLS_TRACE_ENABLED not "false".
 */
export function tracingRuns(env: Env): boolean {
  const executionEnv = env.AWS_EXECUTION_ENV ?? '';
  if ((env.POWERTOOLS_TRACE_ENABLED ?? '').toLowerCase() === 'false') return false;
  return executionEnv !== '' && executionEnv !== 'AWS_Lambda_amplify-mock' && (env.AWS_SAM_LOCAL ?? '') === '';
}

type AwsClient = Parameters<Tracer['captureAWSv3Client']>[0];

/**
 * Powertools Tracer, imported and built by the first invocation (load(), from telemetryMiddleware)
 * where tracing runs, and never elsewhere. AWS SDK clients handed to captureAWSv3Client before then
 * are traced from that moment.
 */
export class LazyTracer {
  readonly enabled: boolean;
  readonly #serviceName: string;
  #tracer: Tracer | undefined;
  #loading: Promise<Tracer | undefined> | undefined;
  readonly #waiting: AwsClient[] = [];

  constructor(enabled: boolean, serviceName: string) {
    this.enabled = enabled;
    this.#serviceName = serviceName;
  }

  /** The Tracer once loaded; undefined before the first invocation and wherever tracing does not run. */
  get tracer(): Tracer | undefined {
    return this.#tracer;
  }

  /** Imports and builds the Tracer (once) when tracing runs; resolves undefined otherwise. */
  load(): Promise<Tracer | undefined> {
    if (!this.enabled) return Promise.resolve(undefined);
    this.#loading ??= import('@aws-lambda-powertools/tracer').then(({ Tracer: PowertoolsTracer }) => {
      const tracer = new PowertoolsTracer({ serviceName: this.#serviceName });
      for (const client of this.#waiting.splice(0)) tracer.captureAWSv3Client(client);
      this.#tracer = tracer;
      return tracer;
    });
    return this.#loading;
  }

  /** Traces the client's requests: now if the Tracer is loaded, else from when it is. Returns the client. */
  captureAWSv3Client<T extends AwsClient>(client: T): T {
    if (this.#tracer !== undefined) return this.#tracer.captureAWSv3Client(client);
    if (this.enabled) this.#waiting.push(client);
    return client;
  }

  putAnnotation(key: string, value: string): void {
    this.#tracer?.putAnnotation(key, value);
  }
}

const LEVELS = new Set(['DEBUG', 'INFO', 'WARN', 'ERROR', 'SILENT']);

/** Powertools Logger, Metrics and Tracer for one Lambda container; the level from POWERTOOLS_LOG_LEVEL or LOG_LEVEL. */
export function createTelemetry(env: Env = process.env): Telemetry {
  const serviceName = env.POWERTOOLS_SERVICE_NAME || SERVICE_NAME;
  const level = (env.POWERTOOLS_LOG_LEVEL || env.LOG_LEVEL || 'INFO').toUpperCase();
  const logger = new PowertoolsLogger({ serviceName, logLevel: (LEVELS.has(level) ? level : 'INFO') as 'INFO' });
  return {
    logger,
    metrics: new Metrics({ serviceName, namespace: env.POWERTOOLS_METRICS_NAMESPACE || METRICS_NAMESPACE, logger }),
    tracer: new LazyTracer(tracingRuns(env), serviceName),
  };
}

/** The core's Logger port over Powertools: the same fields rules (no credential-like keys, errors as name/message). */
export function portLogger(logger: PowertoolsLogger, fields: LogFields = {}): Logger {
  const log =
    (level: 'debug' | 'info' | 'warn' | 'error') =>
    (message: string, extra?: LogFields): void =>
      logger[level](message, safeFields({ ...fields, ...extra }));
  return {
    debug: log('debug'),
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
    child: (more) => portLogger(logger, { ...fields, ...more }),
  };
}

/** Adds measurements to the invocation's metrics; one with dimensions goes out as a metric of its own. */
export function recordMeasurements(metrics: Metrics, measurements: Measurement[]): void {
  for (const m of measurements) {
    if (!Number.isFinite(m.value)) continue;
    if (m.dimensions && Object.keys(m.dimensions).length > 0) {
      metrics.singleMetric().addDimensions(m.dimensions).addMetric(m.name, MetricUnit[m.unit], m.value);
    } else {
      metrics.addMetric(m.name, MetricUnit[m.unit], m.value);
    }
  }
}

/** Correlation ids on the trace, searchable in X-Ray (annotations take strings, numbers, booleans). */
export function annotate(tracer: LazyTracer, fields: LogFields): void {
  for (const key of ['task', 'executionName', 'sessionId', 'key'] as const) {
    const value = fields[key];
    if (typeof value === 'string' && value !== '') tracer.putAnnotation(key, value);
  }
}

/**
 * Metrics of one invocation: a ColdStart metric on the first, and what the handler recorded flushed after
 * it (or after its failure). Powertools' logMetrics middleware would also warn on every invocation that
 * recorded nothing (Prepare, HashObject), so the flush is only asked for when there is something.
 */
function flushMetrics(metrics: Metrics): MiddlewareObj {
  const flush = (): void => {
    if (metrics.hasStoredMetrics()) metrics.publishStoredMetrics();
  };
  return {
    before: (request) => {
      const { functionName } = request.context as { functionName?: string };
      if (functionName) metrics.setFunctionName(functionName);
      metrics.captureColdStartMetric();
    },
    after: flush,
    onError: flush,
  };
}

export interface TelemetryOptions {
  /**
   * The event carries a caller's credentials (an API request's Authorization header and session token):
   * it is never logged whole, even when POWERTOOLS_LOGGER_LOG_EVENT asks Powertools to log every event.
   */
  eventHoldsCredentials?: boolean;
}

/**
 * Powertools around an invocation, as middy middlewares: Lambda context and cold start on the logs
 * (temporary keys reset), metrics flushed after it, a traced handler where tracing runs. They belong to
 * the Telemetry the dependencies carry, which may be built on the first invocation, so they are made
 * then (the Tracer and its middleware imported then too); without Telemetry (the local runner, tests)
 * this does nothing and prints nothing.
 */
export function telemetryMiddleware<E, R>(telemetryOf: () => Telemetry | undefined, options: TelemetryOptions = {}): MiddlewareObj<E, R> {
  let made: { of: Telemetry; chain: MiddlewareObj[] } | undefined;
  const chain = async (): Promise<MiddlewareObj[]> => {
    const t = telemetryOf();
    if (t === undefined) return [];
    if (made?.of !== t) {
      const tracer = await t.tracer.load();
      const traced = tracer === undefined ? [] : [(await import('@aws-lambda-powertools/tracer/middleware')).captureLambdaHandler(tracer, { captureResponse: false }) as MiddlewareObj];
      const logContext = injectLambdaContext(t.logger, { resetKeys: true, ...(options.eventHoldsCredentials ? { logEvent: false } : {}) }) as MiddlewareObj;
      made = { of: t, chain: [logContext, flushMetrics(t.metrics), ...traced] };
    }
    return made.chain;
  };
  type Request = Parameters<NonNullable<MiddlewareObj['before']>>[0];
  const run = async (phase: 'before' | 'after' | 'onError', request: Request): Promise<void> => {
    const list = phase === 'before' ? await chain() : [...(await chain())].reverse();
    for (const m of list) await m[phase]?.(request);
  };
  return {
    before: (request) => run('before', request as unknown as Request),
    after: (request) => run('after', request as unknown as Request),
    onError: (request) => run('onError', request as unknown as Request),
  };
}

let containerTelemetry: Telemetry | undefined;
/** One Telemetry per Lambda container, from its environment. */
export function processTelemetry(): Telemetry {
  containerTelemetry ??= createTelemetry();
  return containerTelemetry;
}

/** `handler` inside a middy handler with the Powertools middlewares (for a handler with a middy chain of its own). */
export function withTelemetry<E, R, C>(
  handler: (event: E, context: C) => Promise<R>,
  telemetryOf: () => Telemetry | undefined,
  options: TelemetryOptions = {},
): (event: E, context: C) => Promise<R> {
  const wrapped = middy<E, R>({ timeoutEarlyInMillis: 0 }) // the plugin config is the first argument when no handler is given
    .use(telemetryMiddleware<E, R>(telemetryOf, options))
    .handler((event: E, context: Context) => handler(event, context as C));
  return (event, context) => wrapped(event, context as Context);
}
