import { readFileSync } from 'node:fs';
const p = JSON.parse(readFileSync(process.argv[2]));
const pkg = process.argv[3];
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const parent = new Map(); for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const self = new Map(); for (let i = 0; i < p.samples.length; i++) self.set(p.samples[i], (self.get(p.samples[i]) ?? 0) + (p.timeDeltas[i + 1] ?? 0));
const entry = new Map();
for (const [id, us] of self) {
  // find the outermost frame in pkg, then its caller outside pkg
  let q = id, lastIn, callerOut;
  for (; q !== undefined; q = parent.get(q)) { const n = byId.get(q); if (n.callFrame.url.includes(pkg)) lastIn = q; else if (lastIn !== undefined && callerOut === undefined) { callerOut = q; } }
  if (lastIn === undefined) continue;
  // rebuild: the caller right above the outermost in-pkg frame
  let c = parent.get(lastIn); const chain = [];
  for (let k = 0; c !== undefined && k < 4; c = parent.get(c), k++) { const n = byId.get(c); chain.push(`${n.callFrame.functionName}@${n.callFrame.url.replace(/^.*\/(node_modules|wt-speed)\//, '')}:${n.callFrame.lineNumber}`); }
  const key = chain.join(' < ');
  entry.set(key, (entry.get(key) ?? 0) + us);
}
for (const [k, v] of [...entry].sort((a, b) => b[1] - a[1]).slice(0, 8)) console.log((v / 1000).toFixed(0).padStart(6), k);
