// PlanSync Lambda (bulk state machine): { input, executionName, executionId } -> SyncPlan.
import type { SyncPlan } from '../src/bulk/contract.ts';
import { planSync } from '../src/bulk/plan.ts';
import type { PlanEvent } from '../src/bulk/plan.ts';
import { defaultDeps } from './deps.ts';
import { makeTask } from './task.ts';
import type { DepsSource, TaskHandler } from './task.ts';

export function makePlanSyncHandler(deps: DepsSource): TaskHandler<PlanEvent, SyncPlan> {
  return makeTask<PlanEvent, SyncPlan>(
    'PlanSync',
    deps,
    (event, d) => planSync(event, d),
    {
      fields: (event) => ({ executionId: event?.executionId }),
      summary: (plan) => ({ reader: plan.reader, maxConcurrency: plan.maxConcurrency }),
    },
  );
}

export const handler = makePlanSyncHandler(defaultDeps);
