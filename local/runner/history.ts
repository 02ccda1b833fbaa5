// What an execution would have cost in AWS: aws-local-stepfunctions reports its own, coarser event log
// (StateEntered, StateExited, MapIterationStarted, ...); this module maps each entry to the Step Functions
// history events that AWS writes for the same step, so a test can check the 25,000-event budget of a
// Standard execution, and it measures the state payloads against the 256 KiB limit.
//
// Mapping (local log entry -> AWS history events), for a Task whose Resource is a Lambda ARN:
//   ExecutionStarted / ExecutionSucceeded / ExecutionFailed / ExecutionAborted -> the same one event
//   ExecutionTimeout                     -> ExecutionTimedOut
//   StateEntered  Task                   -> TaskStateEntered + LambdaFunctionScheduled + LambdaFunctionStarted
//   StateExited   Task                   -> LambdaFunctionSucceeded + TaskStateExited
//   StateFailed   Task                   -> LambdaFunctionFailed (LambdaFunctionTimedOut for States.Timeout)
//   StateRetried  Task                   -> LambdaFunctionScheduled + LambdaFunctionStarted (the next attempt)
//   StateExited   after StateCaught      -> <Type>StateExited only (the failure was already counted)
//   StateEntered  Map / Parallel         -> MapStateEntered + MapStateStarted / ParallelStateEntered + ParallelStateStarted
//   StateExited   Map / Parallel         -> MapStateSucceeded + MapStateExited / ParallelStateSucceeded + ParallelStateExited
//   StateFailed   Map / Parallel         -> MapStateFailed / ParallelStateFailed
//   StateRetried  Map / Parallel         -> MapStateStarted / ParallelStateStarted
//   MapIterationStarted / Succeeded / Failed -> the same one event
//   ParallelBranchStarted / Succeeded / Failed -> nothing (AWS records no per-branch events)
//   StateEntered  Choice / Pass / Wait / Succeed / Fail -> <Type>StateEntered
//   StateExited   Choice / Pass / Wait / Succeed        -> <Type>StateExited
//   StateFailed   Fail (the Fail state itself), Choice, Pass, Wait, Succeed -> nothing (ExecutionFailed follows)
//   StateCaught                          -> nothing
// Where AWS's exact sequence is uncertain (TaskStateExited after a caught failure) the mapping counts the
// event, so the total errs on the high side. AWS writes MapIterationAborted for iterations cut short by a
// failing sibling; the local runner does not report those (an undercount on failure paths only).

import type { StateMachine } from 'aws-local-stepfunctions';

/** One entry of aws-local-stepfunctions' event log (its types are not exported by name). */
export type LocalEvent = ReturnType<StateMachine['run']>['eventLogs'] extends AsyncGenerator<infer E> ? E : never;

export interface ExecutionHistory {
  /** The local event log, in the order the runner reported it (nested Map/Parallel events included). */
  events: LocalEvent[];
  /** How many history events AWS Step Functions would have recorded for the same run. */
  awsEventCount: number;
  /** The same, per AWS history event type. */
  awsEventTypes: Record<string, number>;
  /** The largest state input, state output, Task payload or Task result seen, in UTF-8 bytes of JSON. */
  maxPayloadBytes: number;
  /** Where that largest payload was, e.g. `UploadAndHash output`, `Commit result`. */
  maxPayloadAt: string;
}

/** The AWS history event types that one local log entry stands for (stateless form; see HistoryRecorder). */
export function awsHistoryEventsFor(event: LocalEvent, afterCatch = false): string[] {
  switch (event.type) {
    case 'ExecutionStarted':
    case 'ExecutionSucceeded':
    case 'ExecutionFailed':
    case 'ExecutionAborted':
    case 'MapIterationStarted':
    case 'MapIterationSucceeded':
    case 'MapIterationFailed':
      return [event.type];
    case 'ExecutionTimeout':
      return ['ExecutionTimedOut'];
    case 'ParallelBranchStarted':
    case 'ParallelBranchSucceeded':
    case 'ParallelBranchFailed':
    case 'StateCaught':
      return [];
    case 'StateEntered': {
      const type = event.state.type;
      if (type === 'Task') return ['TaskStateEntered', 'LambdaFunctionScheduled', 'LambdaFunctionStarted'];
      if (type === 'Map' || type === 'Parallel') return [`${type}StateEntered`, `${type}StateStarted`];
      return [`${type}StateEntered`];
    }
    case 'StateExited': {
      const type = event.state.type;
      if (afterCatch) return [`${type}StateExited`];
      if (type === 'Task') return ['LambdaFunctionSucceeded', 'TaskStateExited'];
      if (type === 'Map' || type === 'Parallel') return [`${type}StateSucceeded`, `${type}StateExited`];
      return [`${type}StateExited`];
    }
    case 'StateFailed': {
      const type = event.state.type;
      if (type === 'Task') return [event.Error === 'States.Timeout' ? 'LambdaFunctionTimedOut' : 'LambdaFunctionFailed'];
      if (type === 'Map' || type === 'Parallel') return [`${type}StateFailed`];
      return [];
    }
    case 'StateRetried': {
      const type = event.state.type;
      if (type === 'Task') return ['LambdaFunctionScheduled', 'LambdaFunctionStarted'];
      if (type === 'Map' || type === 'Parallel') return [`${type}StateStarted`];
      return [];
    }
    default:
      return [];
  }
}

/** JSON size in UTF-8 bytes, as Step Functions measures payloads. */
export function jsonBytes(value: unknown): number {
  const json = JSON.stringify(value);
  return json === undefined ? 0 : Buffer.byteLength(json, 'utf8');
}

/** Accumulates the local event log into AWS history counts and payload sizes. */
export class HistoryRecorder {
  readonly events: LocalEvent[] = [];
  awsEventCount = 0;
  readonly awsEventTypes: Record<string, number> = {};
  maxPayloadBytes = 0;
  maxPayloadAt = '';

  private readonly keepEvents: boolean;
  /** States (name + Map index) whose last failure was caught: their StateExited is the catch's exit. */
  private readonly caught = new Set<string>();
  /** Raw result of a Map / Parallel run being gathered (the array the state builds before ResultSelector/ResultPath). */
  private readonly aggregates = new Map<string, { bytes: number; items: number }>();

  constructor(options: { keepEvents?: boolean } = {}) {
    this.keepEvents = options.keepEvents ?? true;
  }

  add(event: LocalEvent): void {
    if (this.keepEvents) this.events.push(event);
    let afterCatch = false;
    if (event.type === 'StateCaught') this.caught.add(stateKey(event.state.name, event.index));
    if (event.type === 'StateExited') afterCatch = this.caught.delete(stateKey(event.state.name, event.index));
    for (const type of awsHistoryEventsFor(event, afterCatch)) {
      this.awsEventCount += 1;
      this.awsEventTypes[type] = (this.awsEventTypes[type] ?? 0) + 1;
    }
    this.measure(event);
  }

  /** Record a payload measured elsewhere (the runner measures each Task's processed input and its result). */
  notePayload(where: string, bytes: number): void {
    if (bytes > this.maxPayloadBytes) {
      this.maxPayloadBytes = bytes;
      this.maxPayloadAt = where;
    }
  }

  snapshot(): ExecutionHistory {
    return {
      events: this.events,
      awsEventCount: this.awsEventCount,
      awsEventTypes: { ...this.awsEventTypes },
      maxPayloadBytes: this.maxPayloadBytes,
      maxPayloadAt: this.maxPayloadAt,
    };
  }

  private measure(event: LocalEvent): void {
    switch (event.type) {
      case 'ExecutionStarted':
        this.notePayload('execution input', jsonBytes(event.input));
        break;
      case 'ExecutionSucceeded':
        this.notePayload('execution output', jsonBytes(event.output));
        break;
      case 'StateEntered':
        this.notePayload(`${event.state.name} input`, jsonBytes(event.state.input));
        if (event.state.type === 'Map' || event.state.type === 'Parallel') {
          this.aggregates.set(event.state.name, { bytes: 2, items: 0 });
        }
        break;
      case 'StateExited':
        this.notePayload(`${event.state.name} output`, jsonBytes(event.state.output));
        break;
      case 'MapIterationSucceeded':
      case 'ParallelBranchSucceeded': {
        const name = event.parentState.name;
        const aggregate = this.aggregates.get(name) ?? { bytes: 2, items: 0 };
        // The nested execution's ExecutionSucceeded event is spread into this one: it carries `output`.
        const output = (event as { output?: unknown }).output;
        aggregate.bytes += jsonBytes(output) + (aggregate.items > 0 ? 1 : 0);
        aggregate.items += 1;
        this.aggregates.set(name, aggregate);
        this.notePayload(`${name} raw result`, aggregate.bytes);
        break;
      }
      default:
        break;
    }
  }
}

function stateKey(name: string, index: number | undefined): string {
  return index === undefined ? name : `${name}#${index}`;
}
