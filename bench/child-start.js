// The bench's child process (bench/child.ts) starts here, as bin/s3-to-box.js starts the CLI, the local runner's
// process: from a JavaScript entry (a TypeScript entry would load Node's type stripper, which the CLI's start
// never does), with the same start-up caches and lean imports (bin/runner-start.js) in place before any module
// of a job loads.
//   node bench/child-start.js '<job as JSON>'   (arguments as bench/child.ts takes them)
import { prepareRunnerStart } from '../bin/runner-start.js';

await prepareRunnerStart(new URL('../', import.meta.url).href);
await import('./child.ts');
