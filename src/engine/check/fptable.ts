// The visited set: 64-bit state fingerprints in one typed array, open
// addressing with linear probing. 8 bytes per slot; the table grows by 1.25x
// once 90% full, so it stays between 72% and 90% full (8.9-11.1 bytes per
// stored state) instead of a power-of-two table's 50% sawtooth. A `Map` would
// cost ~80 bytes per entry and stops near 16.7M entries.

const MIN_SLOTS = 1 << 10;
const MAX_LOAD = 0.9;
const GROWTH = 1.25;

export class FingerprintTable {
  private t: Uint32Array; // slot i: t[2i] = high word, t[2i+1] = low word; 0/0 = empty
  private slots: number;
  private limit: number;
  size = 0;

  constructor(expected = 0) {
    this.slots = Math.max(MIN_SLOTS, Math.ceil(expected / MAX_LOAD) + 1);
    this.t = new Uint32Array(this.slots * 2);
    this.limit = Math.floor(this.slots * MAX_LOAD);
  }

  get bytes(): number {
    return this.t.byteLength;
  }

  /** Add fingerprint (hi, lo); false if it was there already. (0,0) is remapped, never stored. */
  add(hi: number, lo: number): boolean {
    hi >>>= 0;
    lo >>>= 0;
    if (hi === 0 && lo === 0) lo = 1;
    const t = this.t;
    const n = this.slots;
    let i = home(hi, n);
    for (;;) {
      const a = t[2 * i];
      const b = t[2 * i + 1];
      if (a === 0 && b === 0) break;
      if (a === hi && b === lo) return false;
      if (++i === n) i = 0;
    }
    t[2 * i] = hi;
    t[2 * i + 1] = lo;
    if (++this.size > this.limit) this.grow();
    return true;
  }

  has(hi: number, lo: number): boolean {
    hi >>>= 0;
    lo >>>= 0;
    if (hi === 0 && lo === 0) lo = 1;
    const t = this.t;
    const n = this.slots;
    for (let i = home(hi, n); ; ) {
      const a = t[2 * i];
      const b = t[2 * i + 1];
      if (a === 0 && b === 0) return false;
      if (a === hi && b === lo) return true;
      if (++i === n) i = 0;
    }
  }

  private grow(): void {
    const old = this.t;
    const oldSlots = this.slots;
    this.slots = Math.ceil(oldSlots * GROWTH);
    this.t = new Uint32Array(this.slots * 2);
    this.limit = Math.floor(this.slots * MAX_LOAD);
    const t = this.t;
    const n = this.slots;
    for (let j = 0; j < oldSlots; j++) {
      const hi = old[2 * j];
      const lo = old[2 * j + 1];
      if (hi === 0 && lo === 0) continue;
      let i = home(hi, n);
      while (t[2 * i] !== 0 || t[2 * i + 1] !== 0) if (++i === n) i = 0;
      t[2 * i] = hi;
      t[2 * i + 1] = lo;
    }
  }
}

/** Slot of a fingerprint: its high word scaled to the table size (any size, no modulo bias worth noting). */
function home(hi: number, n: number): number {
  return Math.floor((hi / 4294967296) * n);
}
