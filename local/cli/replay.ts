// `s3-to-box replay-failed-events`: replays the trigger's on-failure queue (src/trigger/replay.ts)
// against the deployed state machine, with the routes the function uses.
import { SFNClient } from '@aws-sdk/client-sfn';
import { SQSClient } from '@aws-sdk/client-sqs';
import { ConfigurationError } from '../../src/transfer/errors.ts';
import { createJsonLogger, silentLogger } from '../../src/transfer/logger.ts';
import { replayFailedEvents } from '../../src/trigger/replay.ts';
import { parseRoutes } from '../../src/trigger/routes.ts';
import { requireAwsCredentials } from './aws-credentials.ts';
import { EXIT_STATUS, exitStatusForError } from './exit-status.ts';

export interface ReplayCommandOptions {
  queueUrl: string;
  stateMachineArn?: string;
  routes?: string;
  region: string;
  sqsEndpoint?: string;
  sfnEndpoint?: string;
  max?: number;
  /** Seconds one SQS request, or one event's StartExecution calls, may wait for an answer (default 60). */
  requestTimeout?: number;
  json?: boolean;
  verbose?: boolean;
}

/**
 * Exit status: 0 every queued event replayed (or none queued), 1 some failed again or were unreadable, or a
 * request got no answer within --request-timeout (the replay stopped there), 2 bad usage.
 */
export async function runReplayCommand(opts: ReplayCommandOptions, env: Record<string, string | undefined> = process.env): Promise<number> {
  const stateMachineArn = opts.stateMachineArn ?? env.STATE_MACHINE_ARN;
  let routes;
  try {
    if (!stateMachineArn) throw new ConfigurationError('--state-machine-arn (or STATE_MACHINE_ARN) is required: the stack output TransferStateMachineArn');
    routes = parseRoutes(opts.routes ?? env.TRANSFER_ROUTES);
    if (routes.length === 0) throw new ConfigurationError('--routes (or TRANSFER_ROUTES) is required: the transferRoutes the stack was deployed with');
  } catch (err) {
    console.error(err instanceof Error ? `${err.name}: ${err.message}` : String(err));
    return EXIT_STATUS.usage;
  }
  const sqs = new SQSClient({ region: opts.region, ...(opts.sqsEndpoint ? { endpoint: opts.sqsEndpoint } : {}) });
  const sfn = new SFNClient({ region: opts.region, ...(opts.sfnEndpoint ? { endpoint: opts.sfnEndpoint } : {}) });
  try {
    await requireAwsCredentials(sqs, 'read the queue and start executions');
    const summary = await replayFailedEvents(
      { sqs, sfn, queueUrl: opts.queueUrl, stateMachineArn, routes, logger: opts.verbose ? createJsonLogger() : silentLogger },
      { ...(opts.max !== undefined ? { maxMessages: opts.max } : {}), ...(opts.requestTimeout !== undefined ? { requestTimeoutMs: opts.requestTimeout * 1000 } : {}) },
    );
    if (opts.json) {
      console.log(JSON.stringify(summary));
    } else {
      for (const m of summary.messages) {
        const detail = m.outcome === 'replayed' ? `${m.started ?? 0} started, ${m.alreadyStarted ?? 0} already started, ${m.skipped ?? 0} skipped` : (m.error ?? '');
        console.log(`${m.messageId}  ${m.outcome}  ${detail}`);
      }
      console.log(`${summary.replayed} replayed, ${summary.failed} failed again (kept in the queue), ${summary.unreadable} unreadable (kept)`);
    }
    if (summary.stopped !== undefined) console.error(`${summary.stopped} (--request-timeout ${opts.requestTimeout ?? 60}); run it again once the service answers`);
    return summary.failed + summary.unreadable > 0 || summary.stopped !== undefined ? EXIT_STATUS.failed : EXIT_STATUS.done;
  } catch (err) {
    const e = err instanceof Error ? err : new Error(String(err));
    console.error(`${e.name}: ${e.message}`);
    return exitStatusForError(e.name);
  } finally {
    sqs.destroy();
    sfn.destroy();
  }
}
