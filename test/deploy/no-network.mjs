// Preloaded (node --import) into the processes test/deploy starts: every outgoing TCP connection and
// DNS lookup fails and written to NO_NETWORK_LOG, so a test can prove that packaging never tries
// to reach AWS or anything else. NO_NETWORK_ALLOW_LOOPBACK=1 lets 127.0.0.1 / ::1 / localhost through
// (for the bundle smoke test, which talks to a loopback stand-in for Box).
import { appendFileSync } from 'node:fs';
import dns from 'node:dns';
import net from 'node:net';

const logFile = process.env.NO_NETWORK_LOG;
const allowLoopback = process.env.NO_NETWORK_ALLOW_LOOPBACK === '1';
const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

function refuse(what) {
  if (logFile) appendFileSync(logFile, `${process.pid} ${what}\n`);
  return new Error(`network disabled by test/deploy/no-network.mjs: ${what}`);
}

const connect = net.Socket.prototype.connect;
net.Socket.prototype.connect = function guardedConnect(...args) {
  // net.connect() passes [normalizedOptions, callback] as one array; socket.connect() the options.
  const first = Array.isArray(args[0]) ? args[0][0] : args[0];
  const options = typeof first === 'object' && first !== null ? first : { port: first, host: args[1] };
  if (typeof first === 'string' || typeof options.path === 'string') return connect.apply(this, args); // pipes
  const host = typeof options.host === 'string' ? options.host : 'localhost';
  if (allowLoopback && LOOPBACK.has(host)) return connect.apply(this, args);
  // Fail like an unreachable network (an 'error' event), so callers take their offline path.
  const err = refuse(`connect ${host}:${String(options.port)}`);
  process.nextTick(() => this.destroy(err));
  return this;
};

const lookup = dns.lookup;
dns.lookup = function guardedLookup(hostname, ...rest) {
  if (allowLoopback && LOOPBACK.has(hostname)) return lookup.call(this, hostname, ...rest);
  throw refuse(`dns.lookup ${hostname}`);
};
const promisesLookup = dns.promises.lookup;
dns.promises.lookup = async function guardedPromisesLookup(hostname, ...rest) {
  if (allowLoopback && LOOPBACK.has(hostname)) return promisesLookup.call(this, hostname, ...rest);
  throw refuse(`dns.promises.lookup ${hostname}`);
};
