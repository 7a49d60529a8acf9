// The execution context every modelled kernel function receives: the state
// words, the layout, the kernel configuration and a sink for what happened
// (page_ref events, WARNs, notes). Functions read `k.m` and change it only
// through set/add, which log each change (index, old, new): the checker
// hashes a successor from its parent's hash and the log, and undoes the step
// from the log, instead of copying and rescanning the whole state.

import type { KernelConfig } from './versions.js';
import { type Layout, type State, REC_WORDS, R_REF, R_MAP, R_LARGE, R_HEAD, R_MAPPING, R_ORDER } from './state.js';

export interface KEvent {
  kind: 'note' | 'page_ref' | 'warn' | 'violation';
  fn: string; // kernel function (or invariant id for violations)
  text: string;
  rec?: number;
  id?: string; // warn/violation id
}

/** The state words as kernel functions see them: read-only (writes go through Kernel.set/add). */
export interface Words {
  readonly [i: number]: number;
  readonly length: number;
}

const LOG_START = 3 * 1024;

export class Kernel {
  private w: Int32Array;
  /** Write log of the current step: (index, old value, new value) triples, logN words used. */
  log = new Int32Array(LOG_START);
  logN = 0;
  readonly L: Layout;
  readonly old: boolean;
  /** Collected events of the current atomic step; null when nobody listens (checker hot loop). */
  events: KEvent[] | null = null;
  /** Ids of WARNs fired in the current step (always recorded: WARNs are violations). */
  warned: string[] = [];
  /** Threads made runnable by wake-ups in the current step (for the engines' bookkeeping). */
  constructor(
    s: State,
    readonly cfg: KernelConfig,
  ) {
    this.w = s.m;
    this.L = s.L;
    this.old = cfg.scheme === 'old';
  }

  /** The state being stepped (engines attach the array they own). */
  get m(): Words {
    return this.w;
  }
  set m(a: Int32Array) {
    this.w = a;
  }

  /** m[i] = v, logged. */
  set(i: number, v: number): void {
    const old = this.w[i];
    if (old === v) return;
    this.w[i] = v;
    if (this.logN + 3 > this.log.length) this.growLog();
    const l = this.log;
    const n = this.logN;
    l[n] = i;
    l[n + 1] = old;
    l[n + 2] = v;
    this.logN = n + 3;
  }
  /** m[i] += d, logged; the new value. */
  add(i: number, d: number): number {
    const v = (this.w[i] + d) | 0;
    this.set(i, v);
    return v;
  }
  /** Undo the logged writes (newest first) and empty the log. */
  undo(): void {
    const l = this.log;
    const w = this.w;
    for (let j = this.logN - 3; j >= 0; j -= 3) w[l[j]] = l[j + 1];
    this.logN = 0;
  }
  private growLog(): void {
    const bigger = new Int32Array(this.log.length * 2);
    bigger.set(this.log);
    this.log = bigger;
  }

  fix(id: string): boolean {
    return this.cfg.fixes.has(id);
  }

  note(fn: string, text: string): void {
    if (this.events) this.events.push({ kind: 'note', fn, text });
  }

  /** A kernel WARN_ON: a violation with an id of its own. */
  warn(id: string, fn: string, text: string): void {
    this.warned.push(id);
    if (this.events) this.events.push({ kind: 'warn', fn, text, id });
  }

  /** Record offset of record r. */
  r(r: number): number {
    return this.L.recOff + r * REC_WORDS;
  }

  /** page_ref_mod: every refcount change goes through here, named by its caller. */
  refMod(r: number, delta: number, caller: string): number {
    const o = this.r(r);
    const v = this.add(o + R_REF, delta);
    if (this.events) {
      const h = this.m[o + R_HEAD];
      const ho = this.r(h);
      const order = this.m[ho + R_ORDER];
      const mc = order > 0 ? this.m[ho + R_LARGE] : this.m[ho + R_MAP];
      this.events.push({
        kind: 'page_ref',
        fn: caller,
        rec: r,
        text: `page_ref_mod: pfn=0x${pfnOf(this.L, r).toString(16)} count=${v} mapcount=${mc} mapping=${mappingName(this.L, this.m[ho + R_MAPPING])} val=${delta > 0 ? '+' : ''}${delta} caller=${caller}`,
      });
    }
    return v;
  }
}

/** Physical page frame number of a record, as the kernel would print it. */
export function pfnOf(L: Layout, r: number): number {
  const d = L.devices[L.recDevice[r]];
  // Devices sit at 1 GiB-aligned physical addresses, one after the other, from 4 GiB.
  return 0x100000 + d.id * 0x40000 * Math.max(1, Math.ceil(d.pages / 0x40000)) + L.recPfn[r];
}

export function mappingName(L: Layout, v: number): string {
  if (v === 0) return 'NULL';
  if (v === -1) return 'DAX_SHARED';
  if (v >= 1 << 20) return L.devices[v - (1 << 20)]?.name ?? `?${v}`; // device-DAX: MAPPING_DEV_BASE + device
  return L.files[v - 1]?.name ?? `?${v}`;
}
