// Symmetry reduction: states that differ only by a permutation of
// interchangeable threads get the same fingerprint.
//
// A thread is a unit with everything only it owns. A process's only thread
// (the process neither forks nor is forked) owns the process, its VMAs and
// page tables, the regions it maps and the GUP references it takes. A thread
// that shares its process (or whose process forks) owns only its own words
// and its GUP references, and must map no region of its own (a VMA in a
// shared or copied mm is not its alone); such threads are interchangeable
// only with threads of the same process, which they share. Threads whose
// steps are the same once their own names are set aside, and whose names no
// other thread uses, are interchangeable: the codec
// hashes each unit on its own and adds the unit hashes up, so the order of the
// units no longer matters. Lock-holder words (which thread holds i_rwsem, the
// invalidate lock or mmap_lock) are hashed as held/free: the model only asks
// whether such a lock is held, never by whom.
import type { Scenario, Step } from '../../scenario/types.js';
import { type Layout, F_INVAL_W, F_IRWSEM_W, G_PAGES, P_MMAP_W, PROC_WORDS, THREAD_WORDS } from '../../model/state.js';

export interface Symmetry {
  /** Groups of interchangeable units; a unit lists its words in an order shared by its group. */
  groups: Int32Array[][];
  /** Per group: the position, in each of its units, of the unit's own mmap_lock holder word (hashed as held/free), or -1. */
  unitHolder: number[];
  /** Words that hold a thread id + 1 (or 0): hashed as held / free. */
  holders: Int32Array;
}

export function findSymmetry(scn: Scenario, L: Layout, init: Int32Array): Symmetry {
  const holders: number[] = [];
  for (const F of L.files) holders.push(F.off + F_INVAL_W, F.off + F_IRWSEM_W);
  for (const P of L.processes) holders.push(P.off + P_MMAP_W);

  // what each thread owns, and what it names
  const owns = scn.threads.map((t) => new Set(t.steps.flatMap((s) => ('as' in s && (s.op === 'mmap' || s.op === 'gup') ? [s.as] : []))));
  const named = scn.threads.map((t) => new Set(t.steps.flatMap(namesIn)));
  const forkers = new Set(scn.threads.flatMap((t) => t.steps.flatMap((s) => (s.op === 'fork' ? [t.process, s.child] : []))));
  const regionsOf = scn.threads.map((t) => new Set(t.steps.flatMap((s) => (s.op === 'mmap' ? [s.as] : []))));
  const privateNames = (i: number) => scn.threads.every((_u, j) => j === i || ![...named[j]].some((n) => owns[i].has(n)));
  // 'process': the unit owns its process; 'thread': only its own words and references
  const kind = scn.threads.map((t, i): 'process' | 'thread' | undefined => {
    if (!privateNames(i)) return undefined;
    if (scn.threads.filter((u) => u.process === t.process).length === 1 && !forkers.has(t.process)) return 'process';
    return regionsOf[i].size === 0 ? 'thread' : undefined;
  });
  // threads with the same steps, their own names replaced by their order of creation
  // (a 'thread' unit also by its process, which it shares with the rest of its group)
  const bySig = new Map<string, number[]>();
  scn.threads.forEach((t, i) => {
    const k = kind[i];
    if (!k) return;
    const own = [...owns[i]];
    const steps = JSON.stringify(t.steps, (key, v) => (key === 'pos' || key === 'label' ? undefined : typeof v === 'string' && owns[i].has(v) ? `#own${own.indexOf(v)}` : v));
    const sig = JSON.stringify([k, k === 'thread' ? t.process : '', steps]);
    bySig.set(sig, [...(bySig.get(sig) ?? []), i]);
  });

  const groups: Int32Array[][] = [];
  const unitHolder: number[] = [];
  for (const members of bySig.values()) {
    if (members.length < 2) continue;
    const whole = kind[members[0]] === 'process';
    const units = members.map((t) => (whole ? unitWords(L, t, [...owns[t]]) : threadUnitWords(L, t, [...owns[t]])));
    // units of a group have the same shape and start equal, word for word
    if (units.every((u) => u.length === units[0].length && u.every((i, j) => init[i] === init[units[0][j]]))) {
      groups.push(units);
      unitHolder.push(whole ? UNIT_HOLDER : -1);
    }
  }
  const holderSet = new Set(holders);
  // a unit's holder word (its own mmap_lock) stays a holder word, hashed as held/free inside the unit
  return { groups, unitHolder, holders: Int32Array.from([...holderSet].filter((w) => !groups.some((g) => g.some((u) => u.includes(w))))) };
}

function namesIn(s: Step): string[] {
  const out: string[] = [];
  if ('at' in s && s.at) out.push(s.at.region);
  if ('ref' in s) out.push(s.ref);
  return out;
}

/** The words of thread t's unit, in a canonical order: thread, process, own regions, VMAs (own regions first), own references. */
function unitWords(L: Layout, t: number, own: string[]): Int32Array {
  const T = L.threads[t];
  const P = L.processes[T.process];
  const w: number[] = [];
  const range = (from: number, n: number) => { for (let i = 0; i < n; i++) w.push(from + i); };
  range(T.off, THREAD_WORDS);
  range(P.off, PROC_WORDS);
  const ownRegions = own.map((n) => L.regions.findIndex((r) => r.name === n)).filter((r) => r >= 0);
  for (const r of ownRegions) w.push(L.regionStateOff + r);
  const vmaEnd = (v: number) => (v + 1 < L.vmas.length ? L.vmas[v + 1].off : L.threads[0].off);
  const vmaRegions = [...ownRegions, ...P.vmas.map((_, r) => r).filter((r) => !ownRegions.includes(r))];
  for (const r of vmaRegions) {
    const v = P.vmas[r];
    if (v >= 0) range(L.vmas[v].off, vmaEnd(v) - L.vmas[v].off);
  }
  for (const n of own) {
    const g = L.refs.find((x) => x.name === n);
    if (g) range(g.off, G_PAGES + 2 * g.maxPages);
  }
  return Int32Array.from(w);
}

/** The words of a unit that shares its process: the thread's own words, then its own references. */
function threadUnitWords(L: Layout, t: number, own: string[]): Int32Array {
  const T = L.threads[t];
  const w: number[] = [];
  for (let i = 0; i < THREAD_WORDS; i++) w.push(T.off + i);
  for (const n of own) {
    const g = L.refs.find((x) => x.name === n);
    if (g) for (let i = 0; i < G_PAGES + 2 * g.maxPages; i++) w.push(g.off + i);
  }
  return Int32Array.from(w);
}

/** Position, in every unit that owns its process, of the process's mmap_lock holder word (hashed as held/free). */
const UNIT_HOLDER = THREAD_WORDS + P_MMAP_W;

export const NO_SYMMETRY: Symmetry = { groups: [], unitHolder: [], holders: new Int32Array(0) };
