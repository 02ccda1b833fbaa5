// Plan: the bulk run's first step. Validates the input, checks the destination folder, fills in every
// default, and derives the Distributed Map's settings (which reader, concurrency, batch size, each child's
// share of the upload budget) and where results and the report go. Nothing is listed before this passes:
// a report inside the source prefix and a manifest that cannot be read as its format says are refused here.
import { checkDestinationAllowed, checkSourceListingAllowed } from '../transfer/allowed.ts';
import type { TransferDeps } from '../transfer/deps.ts';
import type { SyncInput, SyncPlan } from './contract.ts';
import { validateSyncInput } from './input.ts';
import { basePrefixOf } from './layout.ts';
import { checkManifest } from './manifest.ts';

const SYNC_DEFAULTS = Object.freeze({
  objectsInFlight: 16,
  /** Box documents 240 upload requests per minute per user. */
  uploadsPerMinute: 240,
  objectsPerBatch: 100,
  toleratedFailurePercentage: 100,
  /** Objects one child handles at once; the Map runs ceil(objectsInFlight / this) children. */
  objectsPerChild: 8,
});

export interface PlanEvent {
  input: unknown;
  /** $$.Execution.Name: results and the report go under <report prefix><name>/. */
  executionName: string;
  /** $$.Execution.Id: the run's folder cache and logs are keyed by it. */
  executionId: string;
}

export async function planSync(event: PlanEvent, deps: TransferDeps): Promise<SyncPlan> {
  const input: SyncInput = validateSyncInput(event.input);
  const options = input.options ?? {};
  const objectsInFlight = options.objectsInFlight ?? SYNC_DEFAULTS.objectsInFlight;
  const perChild = Math.min(SYNC_DEFAULTS.objectsPerChild, objectsInFlight);
  const maxConcurrency = Math.ceil(objectsInFlight / perChild);
  const uploadsPerMinute = options.uploadsPerMinute ?? SYNC_DEFAULTS.uploadsPerMinute;
  const source = input.source;
  // Like Prepare for one object, before anything is listed or read: the source must be allowed, and the
  // destination folder must exist and lie inside an allowed folder.
  checkSourceListingAllowed(deps.settings.allowedSources, source.bucket, 'prefix' in source ? source.prefix : undefined);
  await checkDestinationAllowed(await deps.box(), input.destination, deps.settings.allowedDestinationFolders);
  // A manifest the ItemReader cannot read, or whose items name no key, is refused now, not by every item.
  if ('manifest' in source) await checkManifest(deps.s3, source.manifest, deps.settings.manifestMaxKeys);
  const reader = 'manifest' in source ? source.manifest.format : 'prefix';
  const prefix = 'prefix' in source ? source.prefix : '';
  const resultsPrefix = `${input.report.prefix ?? ''}${event.executionName}`;
  const plan: SyncPlan = {
    reader,
    list: {
      bucket: source.bucket,
      prefix,
      ...('manifest' in source ? { manifestBucket: source.manifest.bucket, manifestKey: source.manifest.key } : {}),
    },
    results: { bucket: input.report.bucket, prefix: resultsPrefix },
    maxConcurrency,
    objectsPerBatch: options.objectsPerBatch ?? SYNC_DEFAULTS.objectsPerBatch,
    toleratedFailurePercentage: options.toleratedFailurePercentage ?? SYNC_DEFAULTS.toleratedFailurePercentage,
    batchInput: {
      runId: event.executionId,
      reader,
      sourceBucket: source.bucket,
      basePrefix: basePrefixOf(prefix),
      folderId: input.destination.folderId,
      layout: input.layout ?? 'mirror',
      skip: input.skip ?? 'same-content',
      onConflict: input.onConflict ?? 'version',
      objectsInFlight: perChild,
      uploadsPerMinute: uploadsPerMinute / maxConcurrency,
      ...(options.concurrency !== undefined ? { concurrency: options.concurrency } : {}),
      dryRun: options.dryRun === true,
    },
  };
  deps.logger.info('sync planned', { reader, bucket: source.bucket, prefix, maxConcurrency, perChild, uploadsPerMinute, dryRun: plan.batchInput.dryRun });
  return plan;
}
