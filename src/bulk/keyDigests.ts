// The keys a manifest has listed so far, compactly: each by a 96-bit digest of three 32-bit hashes (the
// chance that two of a million distinct keys share one is about 1 in 10^17), with the line or row that
// listed it first, in an open-addressing table of typed arrays: 20 bytes a slot, at most half full. A Map of
// strings (or of crypto digests) costs ~150 bytes a key and a crypto hash per key several times the CPU:
// PlanSync checks up to a million keys with a fraction of a vCPU (bench/bulk.ts measures it).

const INITIAL_SLOTS = 1 << 12;

/** Three 32-bit hashes of `key`'s UTF-16 code units (MurmurHash3's mixing, FNV-1a, and a third multiply-rotate), each finished by MurmurHash3's avalanche. */
export function keyDigest(key: string): [number, number, number] {
  let a = 0x9747b28c;
  let b = 0x811c9dc5;
  let c = 0x27d4eb2f;
  for (let i = 0; i < key.length; i++) {
    const unit = key.charCodeAt(i);
    let k = Math.imul(unit, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    a ^= Math.imul(k, 0x1b873593);
    a = (a << 13) | (a >>> 19);
    a = (Math.imul(a, 5) + 0xe6546b64) | 0;
    b = Math.imul(b ^ unit, 0x01000193);
    c = Math.imul(c + unit, 0x9e3779b1);
    c = (c << 17) | (c >>> 15);
  }
  return [avalanche(a ^ key.length), avalanche(b ^ key.length), avalanche(c ^ key.length)];
}

function avalanche(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export class KeyDigests {
  private digests = new Uint32Array(INITIAL_SLOTS * 3);
  /** The line or row of each slot's key; 0: the slot is empty (lines and rows count from 1). */
  private places = new Float64Array(INITIAL_SLOTS);
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Records `key` as listed at `place` (from 1); when a place listed it before, returns that place and records nothing. */
  add(key: string, place: number): number | undefined {
    if (!(place >= 1)) throw new RangeError(`lines and rows count from 1, not ${place}`);
    if ((this.count + 1) * 2 > this.places.length) this.grow();
    const [a, b, c] = keyDigest(key);
    const slot = this.slotOf(a, b, c);
    const earlier = this.places[slot] as number;
    if (earlier !== 0) return earlier;
    this.digests[slot * 3] = a;
    this.digests[slot * 3 + 1] = b;
    this.digests[slot * 3 + 2] = c;
    this.places[slot] = place;
    this.count++;
    return undefined;
  }

  /** The slot holding this digest, or the empty slot where it goes (linear probing; the table is never full). */
  private slotOf(a: number, b: number, c: number): number {
    const mask = this.places.length - 1;
    for (let slot = a & mask; ; slot = (slot + 1) & mask) {
      if (this.places[slot] === 0) return slot;
      if (this.digests[slot * 3] === a && this.digests[slot * 3 + 1] === b && this.digests[slot * 3 + 2] === c) return slot;
    }
  }

  private grow(): void {
    const { digests, places } = this;
    this.digests = new Uint32Array(digests.length * 2);
    this.places = new Float64Array(places.length * 2);
    for (let old = 0; old < places.length; old++) {
      if (places[old] === 0) continue;
      const a = digests[old * 3] as number;
      const slot = this.slotOf(a, digests[old * 3 + 1] as number, digests[old * 3 + 2] as number);
      this.digests.set(digests.subarray(old * 3, old * 3 + 3), slot * 3);
      this.places[slot] = places[old] as number;
    }
  }
}
