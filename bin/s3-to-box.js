#!/usr/bin/env node
// The CLI is written in TypeScript and run by Node's built-in type stripping (Node >= 22.18).
const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  console.error(
    `s3-to-box needs Node.js >= 22.18 (found ${process.version}). ` +
      'Run it through npm (npm start, npx s3-to-box, npm run s3-to-box -- ...), which uses the Node 22 from devDependencies.',
  );
  process.exit(1);
}
// `s3-to-box ... --help | head`: a reader that closes the pipe early has read all it wanted; no error, no stack.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') process.exit(0);
  throw err;
});
// V8 flags can only be given when a process starts: re-execute this one (same pid, stdio and signals)
// with the runner's flags (local/runner/node-flags.json says why) when they are missing and Node can.
const { default: runnerNode } = await import('../local/runner/node-flags.json', { with: { type: 'json' } });
if (typeof process.execve === 'function' && !runnerNode.flags.every((flag) => process.execArgv.includes(flag))) {
  process.execve(process.execPath, [process.execPath, ...runnerNode.flags, ...process.execArgv, ...process.argv.slice(1)], process.env);
}
// The start-up caches and the lean imports (bin/runner-start.js says what each does).
const { prepareRunnerStart } = await import('./runner-start.js');
await prepareRunnerStart(new URL('../', import.meta.url).href);
await import('../local/cli.ts');
