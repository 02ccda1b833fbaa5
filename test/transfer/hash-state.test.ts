// The saved hash-wasm state: its layout in the pinned hash-wasm version, and that a state whose block
// buffer was cleared (cleanState) loads and gives the right digest.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSHA1 } from 'hash-wasm';
import { describe, expect, it } from 'vitest';
import { HASH_WASM_BLOCK_AT, HASH_WASM_STATE_BYTES, cleanState } from '../../src/transfer/hash.ts';
import { testBytes } from './helpers.ts';

const data = testBytes(64 * 40 + 17, 3);

async function stateAfter(bytes: Uint8Array): Promise<Uint8Array> {
  const h = await createSHA1();
  h.init();
  h.update(bytes);
  return h.save();
}

describe('hash-wasm SHA-1 state', () => {
  it('is pinned to the exact version whose layout cleanState knows', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { dependencies: Record<string, string> };
    expect(pkg.dependencies['hash-wasm']).toBe('4.13.0');
    const installed = JSON.parse(readFileSync(new URL('../../node_modules/hash-wasm/package.json', import.meta.url), 'utf8')) as { version: string };
    expect(installed.version).toBe('4.13.0');
  });

  it('holds a 64-byte block of input at bytes 32-95, even on a block boundary (what cleanState clears)', async () => {
    const state = await stateAfter(data.subarray(0, 128));
    expect(state.byteLength).toBe(HASH_WASM_STATE_BYTES);
    const block = Buffer.from(state.subarray(HASH_WASM_BLOCK_AT));
    expect(block.byteLength).toBe(64);
    expect(data.subarray(0, 128).indexOf(block)).toBeGreaterThanOrEqual(0);
    // The message length in bits, little-endian, just before the block.
    expect(Buffer.from(state).readBigUInt64LE(24)).toBe(128n * 8n);
  });

  it('a cleaned state on every block boundary loads and gives the digest of the whole input', async () => {
    const expected = createHash('sha1').update(data).digest('hex');
    for (let at = 0; at <= data.byteLength; at += 64) {
      const clean = cleanState(await stateAfter(data.subarray(0, at)), at);
      expect(clean.subarray(HASH_WASM_BLOCK_AT).every((b) => b === 0)).toBe(true);
      const h = await createSHA1();
      h.init();
      h.load(clean);
      h.update(data.subarray(at));
      expect(h.digest('hex')).toBe(expected);
    }
  });

  it('refuses to save between block boundaries (the buffer would hold pending object bytes)', async () => {
    expect(() => cleanState(new Uint8Array(HASH_WASM_STATE_BYTES), 100)).toThrow(/64-byte boundary/);
    expect(() => cleanState(new Uint8Array(50), 64)).toThrow(/pinned version/);
  });
});
