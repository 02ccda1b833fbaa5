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
// Node's on-disk cache of compiled code (in the OS temp folder) makes later starts cheaper.
const { enableCompileCache } = await import('node:module');
enableCompileCache?.();
await import('../local/cli.ts');
