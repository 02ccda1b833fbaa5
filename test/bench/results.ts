// A speed bench run's results with nothing measured yet: the tests add the parts they need.
import { options } from '../../bench/speed.ts';
import type { SpeedResults } from '../../bench/speed.ts';

const GiB = 1024 ** 3;

/** `argv` as given to the bench, on a test machine, started at `date`; every measurement empty. */
export function emptyResults(argv: string[], date = '2026-12-02T15:00:00.000Z'): SpeedResults {
  return {
    options: options(argv),
    machine: { cpu: 'Test CPU', cores: 2, memoryBytes: 24 * GiB, node: 'v22', loadStart: [0, 0, 0], loadEnd: [0, 0, 0], date },
    e2e: [],
    sweep: [],
    cpu: [],
    hash: [],
    cli: [],
    bundles: [],
    tracing: undefined,
    lambdas: {},
    batches: [],
    huge: undefined,
    seconds: 60,
  };
}
