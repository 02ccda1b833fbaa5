// GetExecutionHistory for the local Step Functions API: the local runner's event log in the shape of AWS's
// HistoryEvent (a subset: the execution's start and end, every state entered and exited with its input and
// output, Map iterations). The Lambda-level events (LambdaFunctionScheduled, ...) are not reproduced: what
// reads a history here (AbortOnStop) looks for states, as AWS writes them.
import type { HistoryEvent } from '@aws-sdk/client-sfn';
import type { LocalEvent } from '../runner/history.ts';

/** HistoryEvent as the AWS JSON protocol carries it (timestamps in epoch seconds). */
export type WireHistoryEvent = Omit<HistoryEvent, 'timestamp'> & { timestamp: number };

function json(value: unknown): string {
  return JSON.stringify(value ?? null);
}

/** The local events in AWS's shape, numbered from 1 as AWS numbers them. */
export function awsHistoryEvents(events: readonly LocalEvent[], roleArn: string): WireHistoryEvent[] {
  const out: WireHistoryEvent[] = [];
  const push = (event: LocalEvent, fields: Omit<WireHistoryEvent, 'id' | 'previousEventId' | 'timestamp'>): void => {
    const id = out.length + 1;
    out.push({ timestamp: event.timestamp / 1000, id, previousEventId: id - 1, ...fields } as WireHistoryEvent);
  };
  for (const event of events) {
    switch (event.type) {
      case 'ExecutionStarted':
        push(event, { type: 'ExecutionStarted', executionStartedEventDetails: { input: json(event.input), inputDetails: { truncated: false }, roleArn } });
        break;
      case 'ExecutionSucceeded':
        push(event, { type: 'ExecutionSucceeded', executionSucceededEventDetails: { output: json(event.output), outputDetails: { truncated: false } } });
        break;
      case 'ExecutionFailed':
        push(event, { type: 'ExecutionFailed', executionFailedEventDetails: { error: event.Error, cause: String(event.Cause) } });
        break;
      case 'StateEntered':
        push(event, { type: `${event.state.type}StateEntered` as HistoryEvent['type'], stateEnteredEventDetails: { name: event.state.name, input: json(event.state.input) } });
        break;
      case 'StateExited':
        push(event, { type: `${event.state.type}StateExited` as HistoryEvent['type'], stateExitedEventDetails: { name: event.state.name, output: json(event.state.output) } });
        break;
      case 'MapIterationStarted':
      case 'MapIterationSucceeded':
      case 'MapIterationFailed': {
        const details = { name: event.parentState.name, index: event.index };
        if (event.type === 'MapIterationStarted') push(event, { type: event.type, mapIterationStartedEventDetails: details });
        else if (event.type === 'MapIterationSucceeded') push(event, { type: event.type, mapIterationSucceededEventDetails: details });
        else push(event, { type: event.type, mapIterationFailedEventDetails: details });
        break;
      }
      default:
        // The stop itself (aws-local-stepfunctions' abort) and the events AWS writes differently.
        if ((event.type as string) === 'ExecutionAborted' || (event.type as string) === 'ExecutionTerminated') push(event, { type: 'ExecutionAborted', executionAbortedEventDetails: {} });
        break;
    }
  }
  return out;
}

/** One page of GetExecutionHistory (maxResults default 100, at most 1000; nextToken is the next offset). */
export function historyPage(
  all: readonly WireHistoryEvent[],
  request: { maxResults?: unknown; nextToken?: unknown; reverseOrder?: unknown },
): { events: WireHistoryEvent[]; nextToken?: string } {
  const max = typeof request.maxResults === 'number' && request.maxResults > 0 ? Math.min(1000, request.maxResults) : 100;
  const offset = typeof request.nextToken === 'string' ? Number.parseInt(request.nextToken, 10) || 0 : 0;
  const ordered = request.reverseOrder === true ? [...all].reverse() : all;
  const events = ordered.slice(offset, offset + max);
  return offset + max < ordered.length ? { events, nextToken: String(offset + max) } : { events };
}
