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
    prefault(t, 0, t.length);
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

/**
 * Write to every page of a[from..to) once. A new typed array's pages are
 * mapped on first touch; the rehash loops read a slot before writing it, so
 * without this each page would fault twice (a read of the shared zero page,
 * then a copy on write), and two workers faulting at once slow each other
 * down severalfold (measured: a 2-part rehash of 3.9M slots took 110 ms
 * concurrently without this, 33 ms with it).
 */
function prefault(a: Int32Array | Uint32Array, from: number, to: number): void {
  for (let i = from; i < to; i += 1024) a[i] = 0;
}

/** Slot of a fingerprint: its high word scaled to the table size (any size, no modulo bias worth noting). */
function home(hi: number, n: number): number {
  return Math.floor((hi / 4294967296) * n);
}

/**
 * The visited set of the 2-worker search: the same open-addressing table in a
 * SharedArrayBuffer, inserted into by both workers at once. A slot is claimed
 * by a compare-and-swap of its high word, then its low word is stored; a
 * reader that meets a claimed slot whose low word is not there yet waits for
 * it. So neither word may be 0 in a stored fingerprint (0 is remapped to 1:
 * fingerprints differing only there merge, a 2^-32 event). Each worker counts
 * its insertions in its own cache line; the table grows only while every
 * worker is paused (`full()` says when to pause); a message from the main
 * thread (which orders memory) separates the rehash from the next insertions.
 */
export class SharedFingerprintTable {
  private t: Int32Array;
  private slots: number;
  private limit: number;
  private readonly counts: Int32Array;
  private readonly countAt: number;
  private mine = 0; // fingerprints this worker stored
  private untilRead = 0; // full() reads the counts again when this reaches 0
  private readonly workers: number;

  /** A new table (buffer = null) or a view of an existing one; `me` is the worker whose count this view keeps. */
  constructor(
    buffer: SharedArrayBuffer | null,
    readonly countsBuffer: SharedArrayBuffer,
    me: number,
  ) {
    this.t = new Int32Array(buffer ?? new SharedArrayBuffer(MIN_SLOTS * 8));
    this.slots = this.t.length >> 1;
    this.limit = Math.floor(this.slots * SHARED_LOAD);
    this.counts = new Int32Array(countsBuffer);
    this.countAt = me * COUNT_STRIDE;
    this.workers = this.counts.length / COUNT_STRIDE;
  }

  static countsFor(workers: number): SharedArrayBuffer {
    return new SharedArrayBuffer(workers * COUNT_STRIDE * 4);
  }

  get buffer(): SharedArrayBuffer {
    return this.t.buffer as SharedArrayBuffer;
  }
  get bytes(): number {
    return this.t.byteLength;
  }
  /** Fingerprints stored by all workers. */
  get size(): number {
    let s = 0;
    for (let w = 0; w < this.counts.length; w += COUNT_STRIDE) s += this.counts[w];
    return s;
  }
  /**
   * Too full to go on: pause, and have one worker grow() the table. Asked
   * before each state a worker expands, which adds at most `perState`
   * fingerprints. Reading the other workers' counts costs a cache-line
   * transfer whenever they changed, so a worker reads them only every so many
   * states: few enough that, every worker adding its most in the meantime,
   * the table still fills at most half the room above the limit (the size at
   * the latest reading was within the limit and includes every worker's
   * adds before it).
   */
  full(perState: number): boolean {
    if (--this.untilRead > 0) return false;
    if (this.size > this.limit) return true;
    this.untilRead = Math.max(1, Math.floor((this.slots - this.limit) / (2 * this.workers * perState)));
    return false;
  }

  add(hi: number, lo: number): boolean {
    hi |= 0;
    lo |= 0;
    if (hi === 0) hi = 1;
    if (lo === 0) lo = 1;
    const t = this.t;
    const n = this.slots;
    let i = home(hi >>> 0, n);
    for (let probes = 0; ; probes++) {
      if (probes === n) throw new Error('the shared visited set is full (a worker did not pause in time)');
      let a = t[2 * i];
      if (a === 0) {
        a = Atomics.compareExchange(t, 2 * i, 0, hi);
        if (a === 0) {
          Atomics.store(t, 2 * i + 1, lo);
          this.counts[this.countAt] = ++this.mine;
          return true;
        }
      }
      if (a === hi) {
        let b = t[2 * i + 1];
        while (b === 0) b = Atomics.load(t, 2 * i + 1); // claimed, its low word on its way
        if (b === lo) return false;
      }
      if (++i === n) i = 0;
    }
  }

  /** A buffer for a table GROWTH times larger (while every worker is paused); each worker then rehashes a part into it. */
  grown(): SharedArrayBuffer {
    let slots = Math.ceil(this.slots * GROWTH);
    while (this.size > slots * SHARED_LOAD * 0.9) slots = Math.ceil(slots * GROWTH);
    return new SharedArrayBuffer(slots * 8);
  }

  /**
   * Move this worker's share of the table into `buffer`, every worker at once.
   * A slot's home grows with its fingerprint, so the old table's part
   * `part`/`parts` lands (almost all) in the same part of the new one: a
   * fingerprint whose probe starts and stays inside that region is stored with
   * plain writes, as no other worker writes there. The few others (probes
   * running past the region's end, or wrapped round the old table's end) are
   * returned as (hi, lo) pairs for one worker to insert (insertDeferred) once
   * every part is done.
   */
  rehashInto(buffer: SharedArrayBuffer, part: number, parts: number): Int32Array {
    const old = this.t;
    const from = Math.floor((this.slots * part) / parts);
    const to = Math.floor((this.slots * (part + 1)) / parts);
    const t = new Int32Array(buffer);
    const n = t.length >> 1;
    const regionFrom = Math.floor((n * part) / parts);
    const regionTo = Math.floor((n * (part + 1)) / parts);
    prefault(t, 2 * regionFrom, 2 * regionTo);
    const deferred: number[] = [];
    for (let j = from; j < to; j++) {
      const hi = old[2 * j];
      if (hi === 0) continue;
      let i = home(hi >>> 0, n);
      if (i >= regionFrom) while (i < regionTo && t[2 * i] !== 0) i++;
      if (i < regionFrom || i >= regionTo) {
        deferred.push(hi, old[2 * j + 1]);
        continue;
      }
      t[2 * i] = hi;
      t[2 * i + 1] = old[2 * j + 1];
    }
    this.attach(buffer);
    return Int32Array.from(deferred);
  }

  /** Insert the pairs the parts of a rehash deferred (one worker, after every part is done). */
  insertDeferred(parts: Int32Array[]): void {
    const t = this.t;
    const n = this.slots;
    for (const d of parts)
      for (let j = 0; j < d.length; j += 2) {
        let i = home(d[j] >>> 0, n);
        while (t[2 * i] !== 0) if (++i === n) i = 0;
        t[2 * i] = d[j];
        t[2 * i + 1] = d[j + 1];
      }
  }

  attach(buffer: SharedArrayBuffer): void {
    this.t = new Int32Array(buffer);
    this.slots = this.t.length >> 1;
    this.limit = Math.floor(this.slots * SHARED_LOAD);
    this.untilRead = 0;
  }
}

/** The shared table pauses past 88% full; workers between readings of the counts may fill up to half the rest (full()). */
const SHARED_LOAD = 0.88;
const COUNT_STRIDE = 16; // one 64-byte cache line per worker's count
