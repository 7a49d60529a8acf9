// How the checker keeps states: a fingerprint per visited state (fptable.ts),
// a parent link per visited state (for the counterexample), and the BFS
// frontier as differences from the initial state.
//
// The fingerprint is a sum of per-word terms, each relative to the word's
// initial value, so a successor's fingerprint is its parent's plus the terms
// of the words the step wrote (the kernel's write log): no step rescans the
// state. With symmetry, lock-holder words count as held/free, and each
// interchangeable unit's words are summed on their own and mixed, the mixed
// unit sums then added up: the same multiset of units, the same fingerprint.

import { type Symmetry, NO_SYMMETRY } from './symmetry.js';

/** murmur3's 32-bit finaliser. */
function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

/** A word's terms in the two hash lanes, under its keys. */
const term1 = (v: number, key: number): number => fmix(v ^ key);
const term2 = (v: number, key: number): number => fmix(Math.imul(v, 0x27d4eb2f) + key);

/**
 * Per-index marks, all cleared at once by starting a new round: an index is
 * marked in this round when at[index] === round. The marks are Int32, so they
 * are cleared for real before the round number would wrap.
 */
export class Marks {
  readonly at: Int32Array;
  round = 0;
  constructor(n: number) {
    this.at = new Int32Array(n);
  }
  /** Start a round in which nothing is marked; its number. */
  next(): number {
    if (this.round >= 0x3fffffff) {
      this.at.fill(0);
      this.round = 0;
    }
    return ++this.round;
  }
}

/**
 * A frontier entry: [lane 1, lane 2, body length, body]. The body lists the
 * words that differ from the initial state, each as one word, index << vbits |
 * value (Packing), or, for a value too wide for that, the escape value in the
 * packed word and the whole value in the next.
 */
export const ENTRY_HDR = 3;
export const entryWords = (buf: Int32Array, at: number): number => ENTRY_HDR + buf[at + 2];

/** How an entry packs a word's index and value into one word, for states of n words. */
export class Packing {
  readonly ibits: number; // index bits (high)
  readonly vbits: number; // value bits (low, signed)
  readonly mask: number;
  readonly esc: number; // the escape: the most negative value, never packed
  constructor(n: number) {
    this.ibits = Math.max(1, Math.ceil(Math.log2(Math.max(2, n))));
    if (this.ibits > 24) throw new Error(`a state of ${n} words is too large to pack`);
    this.vbits = 32 - this.ibits;
    this.mask = 2 ** this.vbits - 1;
    this.esc = -(2 ** (this.vbits - 1));
  }
  /** Pack (i, v) at out[w]; the words written (1, or 2 with the escape). */
  put(out: Int32Array, w: number, i: number, v: number): number {
    if (v > this.esc && v < -this.esc) {
      out[w] = (i << this.vbits) | (v & this.mask);
      return 1;
    }
    out[w] = (i << this.vbits) | (this.esc & this.mask);
    out[w + 1] = v;
    return 2;
  }
}

const HOLDER = 1; // a lock-holder word outside the units: held / free
const UNIT = 2; // a word of an interchangeable unit (other words: 0, hashed as they are)

const held = (v: number) => (v !== 0 ? 1 : 0);
const B1 = 0x3c6ef372; // the initial state's lanes
const B2 = 0x1b873593;

export class Codec {
  readonly n: number;
  private readonly k1: Int32Array; // per-word keys of the two hash lanes
  private readonly k2: Int32Array;
  private readonly cls: Uint8Array;
  private readonly unitOf: Int32Array; // UNIT words: their unit, and their position in it
  private readonly posOf: Int32Array;
  private readonly units: Int32Array[]; // every unit's words, all groups together
  private readonly u1: Int32Array; // per position of each unit: keys of the two lanes
  private readonly u2: Int32Array;
  private readonly uKeyOff: Int32Array; // where a unit's keys start in u1/u2 (shared by its group)
  private readonly uHolder: Int32Array; // per unit: position of its own holder word (held/free), or -1
  private readonly touched: Int32Array; // units a step wrote to, and their lane deltas
  private readonly tD1: Int32Array;
  private readonly tD2: Int32Array;
  private readonly marks: Marks; // units already in touched
  /** How entries pack the words of these states. */
  readonly packing: Packing;
  /** Lanes and fingerprint of the last state hashed. */
  h1 = B1;
  h2 = B2;
  hi = 0;
  lo = 0;

  constructor(
    readonly init: Int32Array,
    sym: Symmetry = NO_SYMMETRY,
  ) {
    const n = (this.n = init.length);
    this.packing = new Packing(n);
    this.k1 = new Int32Array(n);
    this.k2 = new Int32Array(n);
    let seed = 0x9e3779b9;
    const next = () => (seed = fmix(seed + 0x6d2b79f5));
    for (let i = 0; i < n; i++) {
      this.k1[i] = next();
      this.k2[i] = next();
    }
    this.cls = new Uint8Array(n);
    for (const i of sym.holders) this.cls[i] = HOLDER;
    this.unitOf = new Int32Array(n).fill(-1);
    this.posOf = new Int32Array(n);
    this.units = [];
    const keyOff: number[] = [];
    const u1: number[] = [];
    const u2: number[] = [];
    const holderPos: number[] = [];
    sym.groups.forEach((g, gi) => {
      const off = u1.length;
      for (let j = 0; j < g[0].length; j++) (u1.push(next()), u2.push(next()));
      for (const u of g) {
        u.forEach((i, j) => ((this.cls[i] = UNIT), (this.unitOf[i] = this.units.length), (this.posOf[i] = j)));
        this.units.push(u);
        keyOff.push(off);
        holderPos.push(sym.unitHolder[gi]);
      }
    });
    this.u1 = Int32Array.from(u1);
    this.u2 = Int32Array.from(u2);
    this.uKeyOff = Int32Array.from(keyOff);
    this.uHolder = Int32Array.from(holderPos);
    const nu = this.units.length;
    this.touched = new Int32Array(nu);
    this.tD1 = new Int32Array(nu);
    this.tD2 = new Int32Array(nu);
    this.marks = new Marks(nu);
  }

  /** A unit word's two lane terms (the unit's own mmap_lock holder word counts as held/free). */
  private unitTerm1(u: number, j: number, v: number): number {
    return term1(j === this.uHolder[u] ? held(v) : v, this.u1[this.uKeyOff[u] + j]);
  }
  private unitTerm2(u: number, j: number, v: number): number {
    return term2(j === this.uHolder[u] ? held(v) : v, this.u2[this.uKeyOff[u] + j]);
  }
  private s1 = 0; // unitSums' result
  private s2 = 0;
  /** Unit u's lane sums in m, relative to the initial state, into s1/s2. */
  private unitSums(u: number, m: ArrayLike<number>): void {
    const w = this.units[u];
    let s1 = 0;
    let s2 = 0;
    for (let j = 0; j < w.length; j++) {
      const i = w[j];
      const v = m[i];
      const v0 = this.init[i];
      if (v === v0) continue;
      s1 = (s1 + this.unitTerm1(u, j, v) - this.unitTerm1(u, j, v0)) | 0;
      s2 = (s2 + this.unitTerm2(u, j, v) - this.unitTerm2(u, j, v0)) | 0;
    }
    this.s1 = s1;
    this.s2 = s2;
  }
  /** A unit's contribution: a non-linear mix of its sums, so that only whole units commute. */
  private static mix1(s1: number): number {
    return fmix(s1 ^ 0x5bd1e995);
  }
  private static mix2(s1: number, s2: number): number {
    return fmix(s2 + Math.imul(s1, 0x01000193));
  }

  private finish(): void {
    this.hi = fmix(this.h1 ^ Math.imul(this.h2, 0x9e3779b1)) >>> 0;
    this.lo = this.h2 >>> 0;
  }

  /** The lanes of state m from scratch (the initial state, tests): the reference the step updates must agree with. */
  hash(m: ArrayLike<number>): void {
    let h1 = B1;
    let h2 = B2;
    const init = this.init;
    for (let i = 0; i < this.n; i++) {
      const c = this.cls[i];
      if (c === UNIT) continue;
      let v = m[i];
      let v0 = init[i];
      if (c === HOLDER) ((v = held(v)), (v0 = held(v0)));
      if (v === v0) continue;
      h1 = (h1 + term1(v, this.k1[i]) - term1(v0, this.k1[i])) | 0;
      h2 = (h2 + term2(v, this.k2[i]) - term2(v0, this.k2[i])) | 0;
    }
    for (let u = 0; u < this.units.length; u++) {
      this.unitSums(u, m);
      const s1 = this.s1;
      const s2 = this.s2;
      h1 = (h1 + Codec.mix1(s1) - Codec.mix1(0)) | 0;
      h2 = (h2 + Codec.mix2(s1, s2) - Codec.mix2(0, 0)) | 0;
    }
    this.h1 = h1;
    this.h2 = h2;
    this.finish();
  }

  /**
   * The lanes of a successor: its parent's (p1, p2) plus the terms of the
   * words the step wrote. `log` holds (index, old, new) triples; a word written
   * twice telescopes. `m` is the successor.
   */
  step(p1: number, p2: number, log: Int32Array, logN: number, m: ArrayLike<number>): void {
    let h1 = p1;
    let h2 = p2;
    const cls = this.cls, k1 = this.k1, k2 = this.k2;
    let nt = 0;
    const mark = this.marks.at;
    const gen = this.marks.next();
    for (let j = 0; j < logN; j += 3) {
      const i = log[j];
      let a = log[j + 1];
      let b = log[j + 2];
      const c = cls[i];
      if (c === UNIT) {
        const u = this.unitOf[i];
        const pos = this.posOf[i];
        if (mark[u] !== gen) {
          mark[u] = gen;
          this.touched[nt++] = u;
          this.tD1[u] = 0;
          this.tD2[u] = 0;
        }
        this.tD1[u] = (this.tD1[u] + this.unitTerm1(u, pos, b) - this.unitTerm1(u, pos, a)) | 0;
        this.tD2[u] = (this.tD2[u] + this.unitTerm2(u, pos, b) - this.unitTerm2(u, pos, a)) | 0;
        continue;
      }
      if (c === HOLDER) {
        a = held(a);
        b = held(b);
        if (a === b) continue;
      }
      h1 = (h1 + term1(b, k1[i]) - term1(a, k1[i])) | 0;
      h2 = (h2 + term2(b, k2[i]) - term2(a, k2[i])) | 0;
    }
    for (let x = 0; x < nt; x++) {
      const u = this.touched[x];
      this.unitSums(u, m); // the successor's sums; the parent's differ by the step's delta
      const s1 = this.s1;
      const s2 = this.s2;
      const q1 = (s1 - this.tD1[u]) | 0;
      const q2 = (s2 - this.tD2[u]) | 0;
      h1 = (h1 + Codec.mix1(s1) - Codec.mix1(q1)) | 0;
      h2 = (h2 + Codec.mix2(s1, s2) - Codec.mix2(q1, q2)) | 0;
    }
    this.h1 = h1;
    this.h2 = h2;
    this.finish();
  }

  /** Rebuild a state from an entry (every word: use Expander.load in the hot loop). */
  decode(src: Int32Array, at: number, m: Int32Array): void {
    m.set(this.init);
    const { ibits, vbits, esc } = this.packing;
    for (let p = at + ENTRY_HDR, end = p + src[at + 2]; p < end; ) {
      const w = src[p++];
      let v = (w << ibits) >> ibits;
      if (v === esc) v = src[p++];
      m[w >>> vbits] = v;
    }
  }
}

// words per frontier chunk (1 MiB): a worker hands the other whole chunks and copies only the
// part of one (StateQueue.splitHalf), so a chunk is small next to a level (often tens of MiB)
const CHUNK = 1 << 18;
const SPARE_CHUNKS = 64; // at most this many consumed chunks kept for reuse

/**
 * Consumed frontier chunks, written again instead of allocating fresh ones: a
 * fresh buffer is faulted in page by page and later collected, which
 * cost more than filling it.
 */
export class ChunkPool {
  private readonly spare: Int32Array[] = [];
  take(): Int32Array {
    return this.spare.pop() ?? new Int32Array(CHUNK);
  }
  give(c: Int32Array): void {
    if (c.length === CHUNK && this.spare.length < SPARE_CHUNKS) this.spare.push(c);
  }
}

/** Frontier chunks one queue hands to another (to another worker), holding `entries` entries. */
export interface Handed {
  chunks: Int32Array[];
  entries: number;
}

/** FIFO of encoded states with their ordinals, in chunks handed back to the pool as they are consumed. */
export class StateQueue {
  private chunks: (Int32Array | null)[] = [];
  private wChunk = -1;
  private wPos = CHUNK;
  private rChunk = 0;
  private rPos = 0;
  length = 0;
  bytes = 0;

  constructor(private readonly pool = new ChunkPool()) {}

  /** Empty the queue; its chunks go back to the pool. */
  clear(): void {
    for (const c of this.chunks) if (c) this.pool.give(c);
    this.forget();
  }

  /** Empty the queue without reusing its chunks (they were handed elsewhere). */
  private forget(): void {
    this.chunks = [];
    this.bytes = 0;
    this.wChunk = -1;
    this.wPos = CHUNK;
    this.rChunk = 0;
    this.rPos = 0;
    this.length = 0;
  }

  /** Where reserve() says to write. */
  buf: Int32Array = new Int32Array(0);
  at = 0;

  /** Room for one entry of up to `words` words, at this.buf[this.at...] (an entry starts with its ordinal). */
  reserve(words: number): void {
    if (this.wChunk < 0 || this.wPos + words + 1 > this.chunks[this.wChunk]!.length) {
      this.endChunk();
      this.chunks.push(words + 2 <= CHUNK ? this.pool.take() : new Int32Array(words + 2));
      this.bytes += this.chunks[this.chunks.length - 1]!.byteLength;
      this.wChunk = this.chunks.length - 1;
      this.wPos = 0;
    }
    this.buf = this.chunks[this.wChunk]!;
    this.at = this.wPos;
  }
  /** Commit the entry reserved last, of `words` words. */
  commit(words: number): void {
    this.wPos += words;
    this.length++;
  }

  /** Mark where the chunk being written ends (reserve() always leaves room for the marker). */
  private endChunk(): void {
    if (this.wChunk >= 0 && this.wPos < this.chunks[this.wChunk]!.length) this.chunks[this.wChunk]![this.wPos] = -1;
  }

  /** Hand every chunk over (to another worker, which adopts them) and start empty; the entries in them. */
  handOver(): Handed {
    this.endChunk();
    const r = { chunks: this.chunks.filter((c): c is Int32Array => c !== null), entries: this.length };
    this.forget();
    return r;
  }

  /** Append chunks another queue handed over (handOver), holding `entries` entries, without copying. */
  adopt(chunks: Int32Array[], entries: number): void {
    if (entries === 0) return;
    this.endChunk();
    for (const c of chunks) {
      this.chunks.push(c);
      this.bytes += c.byteLength;
    }
    this.wChunk = this.chunks.length - 1;
    this.wPos = this.chunks[this.wChunk]!.length; // full: the next reserve() starts a new chunk
    this.length += entries;
  }

  /**
   * Take the second half (by entries) of what is left to read, to hand to
   * another worker: the rest of the chunk where that half starts is copied
   * out (or handed whole when the half starts a chunk), the chunks after it
   * are handed whole. Null when fewer than `min` entries are left. Only for a
   * queue nothing writes to any more.
   */
  splitHalf(min: number): Handed | null {
    if (this.length < Math.max(2, min)) return null;
    this.endChunk(); // the chunks handed whole must say where they end
    const lastChunk = this.wChunk;
    const lastEnd = this.wPos;
    const ends = (c: number, p: number, buf: Int32Array) => p >= buf.length || buf[p] === -1 || (c === lastChunk && p >= lastEnd);
    const keep = this.length - (this.length >> 1);
    // find where entry number `keep` (counting from the next to read) starts
    let c = this.rChunk;
    let p = this.rPos;
    for (let n = 0; ; ) {
      const buf = this.chunks[c]!;
      if (ends(c, p, buf)) {
        c++;
        p = 0;
        continue;
      }
      if (n === keep) break;
      p += 1 + entryWords(buf, p + 1);
      n++;
    }
    const at = this.chunks[c]!;
    const whole = this.chunks.slice(c + 1) as Int32Array[];
    let out: Int32Array[];
    if (p === 0) {
      out = [at, ...whole];
      this.chunks.length = c;
      this.wChunk = c - 1;
      this.wPos = this.chunks[c - 1]!.length; // the chunk before ends where its marker (or its length) says
    } else {
      let end = p;
      while (!ends(c, end, at)) end += 1 + entryWords(at, end + 1);
      out = [at.slice(p, end), ...whole];
      this.chunks.length = c + 1;
      this.wChunk = c;
      this.wPos = p;
      at[p] = -1;
    }
    for (const b of whole) this.bytes -= b.byteLength;
    if (p === 0) this.bytes -= at.byteLength;
    const entries = this.length >> 1;
    this.length = keep;
    return { chunks: out, entries };
  }

  /** Where shift() says the entry is. */
  rBuf: Int32Array = new Int32Array(0);
  rAt = 0;

  /** Move to the next entry (at this.rBuf[this.rAt...]); false when empty. */
  shift(): boolean {
    if (this.length === 0) return false;
    let buf = this.chunks[this.rChunk]!;
    while (this.rPos >= buf.length || buf[this.rPos] === -1 || (this.rChunk === this.wChunk && this.rPos >= this.wPos)) {
      this.bytes -= buf.byteLength;
      this.chunks[this.rChunk] = null;
      this.pool.give(buf);
      this.rChunk++;
      this.rPos = 0;
      buf = this.chunks[this.rChunk]!;
    }
    this.rBuf = buf;
    this.rAt = this.rPos;
    this.rPos += 1 + entryWords(buf, this.rAt + 1); // ordinal, entry
    this.length--;
    return true;
  }
}

const LCHUNK = 1 << 16;
const LSHIFT = 16;

/** Parent links: for each state ordinal, (parent ordinal << threadBits) | thread. 4 bytes per state. */
export class Links {
  private chunks: Uint32Array[] = [];
  length = 0;
  readonly maxStates: number;
  readonly threadBits: number;
  /** For a scenario of `threads` threads (the bits a thread index takes are what the parent may not). */
  constructor(threads: number) {
    this.threadBits = Math.max(1, Math.ceil(Math.log2(Math.max(2, threads))));
    this.maxStates = 2 ** (32 - this.threadBits);
  }
  get bytes(): number {
    return this.chunks.length * LCHUNK * 4;
  }
  push(parent: number, thread: number): number {
    const i = this.length++;
    if ((i & (LCHUNK - 1)) === 0) this.chunks.push(new Uint32Array(LCHUNK));
    this.chunks[i >>> LSHIFT][i & (LCHUNK - 1)] = (parent * 2 ** this.threadBits + thread) >>> 0;
    return i;
  }
  /** The link of one state: its parent's ordinal and the thread that stepped. */
  get(ordinal: number): { parent: number; thread: number } {
    const v = this.chunks[ordinal >>> LSHIFT][ordinal & (LCHUNK - 1)];
    return { parent: Math.floor(v / 2 ** this.threadBits), thread: v & (2 ** this.threadBits - 1) };
  }

  /** The thread sequence from the initial state (ordinal 0) to `ordinal`. */
  path(ordinal: number): number[] {
    const out: number[] = [];
    const mask = 2 ** this.threadBits - 1;
    while (ordinal > 0) {
      const v = this.chunks[ordinal >>> LSHIFT][ordinal & (LCHUNK - 1)];
      out.push(v & mask);
      ordinal = Math.floor(v / 2 ** this.threadBits);
    }
    return out.reverse();
  }
}
