// The history budget of UploadBatch's deadline path (Transfer.Deadline, retried): even if every batch of
// the largest plan stopped at its deadline on every try, the Map stays inside half of Step Functions'
// 25,000 history events, leaving the other half to the hash and commit loops (the 10,000-part run of
// budget.test.ts measures those). Read from the definition, so a change of MaxAttempts is checked.
import { describe, expect, it } from 'vitest';
import { awsHistoryEventsFor, loadLocalDefinition } from '../../local/runner/index.ts';
import { walkStates } from '../../local/runner/definition.ts';
import type { LocalEvent } from '../../local/runner/index.ts';
import { DEFAULT_SETTINGS } from '../../src/transfer/settings.ts';

describe('Transfer.Deadline retries', () => {
  it('fit the history budget for the most batches a plan makes', () => {
    const { definition } = loadLocalDefinition();
    const states = new Map(walkStates(definition as unknown as Record<string, unknown>));
    const retry = states.get('UploadBatch')?.['Retry'] as Array<{ ErrorEquals: string[]; MaxAttempts?: number }>;
    const deadline = retry.find((r) => r.ErrorEquals.includes('Transfer.Deadline'));
    expect(deadline?.MaxAttempts).toBeGreaterThanOrEqual(1);

    const task = { name: 'UploadBatch', type: 'Task' };
    const events = (e: Partial<LocalEvent> & { type: string }): number => awsHistoryEventsFor(e as LocalEvent).length;
    // A Map item that succeeds at once, and what each retry adds (the failure, then a new schedule and start).
    const item = events({ type: 'MapIterationStarted' }) + events({ type: 'StateEntered', state: task } as never) +
      events({ type: 'StateExited', state: task } as never) + events({ type: 'MapIterationSucceeded' });
    const perRetry = events({ type: 'StateFailed', state: task, Error: 'Transfer.Deadline' } as never) +
      events({ type: 'StateRetried', state: task, retry: { attempt: 1 } } as never);
    expect(item).toBe(7);
    expect(perRetry).toBe(3);

    const worst = DEFAULT_SETTINGS.maxBatches * (item + perRetry * deadline!.MaxAttempts!);
    expect(worst).toBeLessThanOrEqual(25_000 / 2);
  });
});
