// How the checker keeps states: a fingerprint per visited state (fptable.ts),
// a parent link per visited state (for the counterexample), and the BFS
// frontier as differences from the initial state.
//
// The fingerprint is a sum of per-word hashes, so only the words that differ
// from the initial state need hashing: the same pass that finds them writes
// the frontier entry. Most of a state (blocks never allocated, page tables of
// unmapped ranges) stays as it started.

/** murmur3's 32-bit finaliser. */
function fmix(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  return h ^ (h >>> 16);
}

import { type Symmetry, NO_SYMMETRY, UNIT_HOLDER, plainWords } from './symmetry.js';

interface GroupKeys {
  units: Int32Array[];
  r1: Int32Array; // per relative position: keys of the two lanes
  r2: Int32Array;
  base1: number; // a unit's lane sums in the initial state (the same for every unit)
  base2: number;
}

const held = (v: number) => (v !== 0 ? 1 : 0);

export class Codec {
  readonly n: number;
  private readonly k1: Int32Array; // per-word keys of the two hash lanes
  private readonly k2: Int32Array;
  private readonly g1: Int32Array; // each word's contribution in the initial state
  private readonly g2: Int32Array;
  private readonly base1: number;
  private readonly base2: number;
  /** Fingerprint of the last encode(). */
  hi = 0;
  lo = 0;
  private h1 = 0; // its two hash lanes
  private h2 = 0;

  private readonly spans: Int32Array; // the plain variable words as runs [from, to)
  private readonly holders: Int32Array;
  private readonly groups: GroupKeys[];

  /**
   * `vars`: the words that can differ from `init` (the others are never
   * compared or hashed); `sym`: interchangeable units and lock-holder words.
   */
  constructor(
    readonly init: Int32Array,
    vars: Int32Array,
    sym: Symmetry = NO_SYMMETRY,
  ) {
    const n = (this.n = init.length);
    const plain = plainWords(sym, vars, n);
    const spans: number[] = [];
    for (let j = 0; j < plain.length; j++) {
      if (spans.length && spans[spans.length - 1] === plain[j]) spans[spans.length - 1]++;
      else spans.push(plain[j], plain[j] + 1);
    }
    this.spans = Int32Array.from(spans);
    this.holders = sym.holders;
    this.k1 = new Int32Array(n);
    this.k2 = new Int32Array(n);
    this.g1 = new Int32Array(n);
    this.g2 = new Int32Array(n);
    let seed = 0x9e3779b9;
    let b1 = 0;
    let b2 = 0;
    for (let i = 0; i < n; i++) {
      seed = fmix(seed + 0x6d2b79f5);
      this.k1[i] = seed;
      seed = fmix(seed + 0x6d2b79f5);
      this.k2[i] = seed;
      this.g1[i] = fmix(init[i] ^ this.k1[i]);
      this.g2[i] = fmix(Math.imul(init[i], 0x27d4eb2f) + this.k2[i]);
      b1 = (b1 + this.g1[i]) | 0;
      b2 = (b2 + this.g2[i]) | 0;
    }
    // holder words and units are hashed whole, not against the initial state
    for (const i of this.holders) {
      b1 = (b1 - this.g1[i]) | 0;
      b2 = (b2 - this.g2[i]) | 0;
    }
    for (const g of sym.groups) for (const u of g) for (const i of u) {
      b1 = (b1 - this.g1[i]) | 0;
      b2 = (b2 - this.g2[i]) | 0;
    }
    this.base1 = b1;
    this.base2 = b2;
    this.groups = sym.groups.map((units) => {
      const len = units[0].length;
      const r1 = new Int32Array(len);
      const r2 = new Int32Array(len);
      let u1 = 0;
      let u2 = 0;
      for (let j = 0; j < len; j++) {
        seed = fmix(seed + 0x6d2b79f5);
        r1[j] = seed;
        seed = fmix(seed + 0x6d2b79f5);
        r2[j] = seed;
        const v = j === UNIT_HOLDER ? held(init[units[0][j]]) : init[units[0][j]];
        u1 = (u1 + fmix(v ^ r1[j])) | 0;
        u2 = (u2 + fmix(Math.imul(v, 0x27d4eb2f) + r2[j])) | 0;
      }
      return { units, r1, r2, base1: u1, base2: u2 };
    });
  }

  /**
   * Fingerprint m and write its differences from the initial state to out at
   * `at` as [count, index, value, ...]. Returns the words written. `out` must
   * have room for 1 + 2n words.
   */
  encode(m: Int32Array, out: Int32Array, at: number): number {
    let w = this.encodePlain(m, out, at + 1);
    if (this.holders.length || this.groups.length) w = this.encodeSymmetric(m, out, w);
    out[at] = (w - at - 1) >>> 1;
    this.hi = fmix(this.h1 ^ Math.imul(this.h2, 0x9e3779b1)) >>> 0;
    this.lo = this.h2 >>> 0;
    return w - at;
  }

  /** The hot loop: words that differ from the initial state, hashed against it. */
  private encodePlain(m: Int32Array, out: Int32Array, w: number): number {
    const init = this.init;
    const k1 = this.k1, k2 = this.k2, g1 = this.g1, g2 = this.g2;
    const spans = this.spans;
    let h1 = this.base1;
    let h2 = this.base2;
    for (let s = 0; s < spans.length; s += 2) {
      const to = spans[s + 1];
      for (let i = spans[s]; i < to; i++) {
        const v = m[i];
        if (v === init[i]) continue;
        h1 = (h1 + fmix(v ^ k1[i]) - g1[i]) | 0;
        h2 = (h2 + fmix(Math.imul(v, 0x27d4eb2f) + k2[i]) - g2[i]) | 0;
        out[w++] = i;
        out[w++] = v;
      }
    }
    this.h1 = h1;
    this.h2 = h2;
    return w;
  }

  /** Lock-holder words (held/free) and interchangeable units (a sum of per-unit hashes). */
  private encodeSymmetric(m: Int32Array, out: Int32Array, w: number): number {
    const init = this.init;
    const k1 = this.k1, k2 = this.k2;
    let h1 = this.h1;
    let h2 = this.h2;
    const holders = this.holders;
    for (let j = 0; j < holders.length; j++) {
      const i = holders[j];
      const v = m[i];
      h1 = (h1 + fmix(held(v) ^ k1[i])) | 0;
      h2 = (h2 + fmix(Math.imul(held(v), 0x27d4eb2f) + k2[i])) | 0;
      if (v === init[i]) continue;
      out[w++] = i;
      out[w++] = v;
    }
    for (let gi = 0; gi < this.groups.length; gi++) {
      const g = this.groups[gi];
      const r1 = g.r1, r2 = g.r2;
      for (let ui = 0; ui < g.units.length; ui++) {
        const u = g.units[ui];
        let u1 = g.base1;
        let u2 = g.base2;
        for (let j = 0; j < u.length; j++) {
          const i = u[j];
          const v = m[i];
          const v0 = init[i];
          if (v === v0) continue;
          out[w++] = i;
          out[w++] = v;
          const a = j === UNIT_HOLDER ? held(v) : v;
          const b = j === UNIT_HOLDER ? held(v0) : v0;
          u1 = (u1 + fmix(a ^ r1[j]) - fmix(b ^ r1[j])) | 0;
          u2 = (u2 + fmix(Math.imul(a, 0x27d4eb2f) + r2[j]) - fmix(Math.imul(b, 0x27d4eb2f) + r2[j])) | 0;
        }
        // a non-linear mix per unit, then a sum: the same multiset of units, the same hash
        h1 = (h1 + fmix(u1 ^ 0x5bd1e995)) | 0;
        h2 = (h2 + fmix(u2 + Math.imul(u1, 0x01000193))) | 0;
      }
    }
    this.h1 = h1;
    this.h2 = h2;
    return w;
  }

  /** Rebuild a state from an encoded entry. */
  decode(src: Int32Array, at: number, m: Int32Array): void {
    m.set(this.init);
    const c = src[at];
    for (let j = 0, p = at + 1; j < c; j++, p += 2) m[src[p]] = src[p + 1];
  }
}

const CHUNK = 1 << 22; // words per frontier chunk (16 MiB)

/** FIFO of encoded states with their ordinals, in chunks freed as they are consumed. */
export class StateQueue {
  private chunks: (Int32Array | null)[] = [];
  private wChunk = -1;
  private wPos = CHUNK;
  private rChunk = 0;
  private rPos = 0;
  length = 0;
  bytes = 0;

  /** Empty the queue, keeping one chunk for reuse (a level-by-level search swaps two queues). */
  clear(): void {
    const keep = this.chunks.find((c) => c !== null);
    this.chunks = keep ? [keep] : [];
    this.bytes = keep ? keep.byteLength : 0;
    this.wChunk = keep ? 0 : -1;
    this.wPos = keep ? 0 : CHUNK;
    this.rChunk = 0;
    this.rPos = 0;
    this.length = 0;
  }

  /** Where reserve() says to write. */
  buf: Int32Array = new Int32Array(0);
  at = 0;

  /** Room for one entry of up to `words` words, at this.buf[this.at...] (an entry starts with its ordinal). */
  reserve(words: number): void {
    if (this.wPos + words + 1 > CHUNK) {
      if (this.wChunk >= 0) this.chunks[this.wChunk]![this.wPos] = -1; // end of chunk marker
      this.chunks.push(new Int32Array(Math.max(CHUNK, words + 2)));
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

  /** Where shift() says the entry is. */
  rBuf: Int32Array = new Int32Array(0);
  rAt = 0;

  /** Move to the next entry (at this.rBuf[this.rAt...]); false when empty. */
  shift(): boolean {
    if (this.length === 0) return false;
    let buf = this.chunks[this.rChunk]!;
    if (this.rPos >= buf.length || buf[this.rPos] === -1 || (this.rChunk === this.wChunk && this.rPos >= this.wPos)) {
      this.bytes -= buf.byteLength;
      this.chunks[this.rChunk] = null; // let it be collected
      this.rChunk++;
      this.rPos = 0;
      buf = this.chunks[this.rChunk]!;
    }
    this.rBuf = buf;
    this.rAt = this.rPos;
    this.rPos += 2 + 2 * buf[this.rAt + 1]; // ordinal, count, pairs
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
