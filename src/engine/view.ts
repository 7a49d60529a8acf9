// A readable view of a state: what a person (or the trace viewer) looks at.
// Only the objects that matter are listed: folios that are mapped, referenced,
// associated or allocated; existing page-table and xarray entries.
import type { Kernel } from '../model/kernel.js';
import { pfnOf, mappingName } from '../model/kernel.js';
import {
  E_ANON, E_DEVMAP, E_DIRTY, E_PRESENT, E_SPECIAL, E_TABLE, E_WRITE, E_YOUNG, E_ZERO, F_EVICTED, F_INVAL_R, F_INVAL_W, F_ISIZE, F_NLINK,
  F_NRPAGES, G_FLAGS, G_HELD, G_GRABBING, G_N, G_PAGES, G_PIN, G_LONGTERM, G_STATE, MAPPING_DAX_SHARED, P_ALIVE, P_RSS_ANON, P_RSS_FILE, PMD_NR, PUD_NR,
  R_ENTIRE, R_GEN, R_HEAD, R_INDEX, R_LARGE, R_MAP, R_MAPPING, R_ORDER, R_PIN, R_REF, R_USERS, S_DONE, S_SLEEPING, T_ERR, T_KEY, T_OP,
  T_STATUS, T_TEMPREF, V_PRESENT, X_DIRTY, X_EMPTY, X_LOCKED, X_PMD, X_TOWRITE, X_ZERO, leafRec, xaRec, D_ALIVE, D_PGMAP_LIVE, D_PGMAP_REF,
  GUP_PIN_COUNTING_BIAS, R_DRV, D_PGMAP_PAGES,
} from '../model/state.js';
import { describeKey } from '../model/kernel/kernel/wait_bit.js';
import { errnoName } from '../model/errno.js';
import { MAPPING_DEV_BASE } from '../model/kernel/drivers/dax_device.js';
import { driverHolder, idleRefs, initRefcount } from '../model/kernel/mm/memremap.js';

export interface Holder {
  kind: 'pte' | 'pmd' | 'pud' | 'gup' | 'transient' | 'idle' | 'driver';
  refs: number;
  who: string;
}

export interface FolioView {
  rec: number;
  pfn: string;
  device: string;
  order: number;
  refcount: number;
  mapcount: number;
  entire_mapcount: number;
  pincount: number;
  mapping: string | null;
  index: number;
  share: number;
  block: string; // fsdax: owner state of the block
  holders: Holder[];
}

export interface View {
  threads: Record<string, { status: string; op: number; waiting?: string; error?: string }>;
  folios: Record<string, FolioView>;
  page_tables: Record<string, { addr: string; level: string; pfn: string | null; bits: string }[]>;
  dax_entries: Record<string, { index: number; entry: string; order: number; pfn: string | null; locked: boolean; dirty: boolean; towrite: boolean }[]>;
  files: Record<string, { size: number; nlink: number; evicted: boolean; nrpages: number; invalidate_lock: string; blocks: number[] }>;
  refs: Record<string, { state: string; kind: string; pages: string[] }>;
  processes: Record<string, { alive: string; rss_file: number; rss_anon: number }>;
  devices: Record<string, { type: string; alive: boolean; pgmap_live: boolean; pgmap_refs: number; pgmap_page_refs: number }>;
}

const hex = (n: number) => `0x${n.toString(16)}`;

function bits(e: number): string {
  const b: string[] = [];
  if (e & E_WRITE) b.push('write');
  if (e & E_DIRTY) b.push('dirty');
  if (e & E_YOUNG) b.push('young');
  if (e & E_SPECIAL) b.push('special');
  if (e & E_DEVMAP) b.push('devmap');
  if (e & E_ZERO) b.push('zero');
  if (e & E_ANON) b.push('anon');
  return b.join(',') || 'ro';
}

/** The mapping holders (PTE/PMD/PUD leaves) of every page, in page-table scan order: built once per view. */
export type MappingIndex = Map<number, { seq: number; holder: Holder }[]>;
export function mappingHolders(k: Kernel): MappingIndex {
  const idx: MappingIndex = new Map();
  const m = k.m;
  let seq = 0;
  const add = (e: number, holder: Holder) => {
    const r = leafRec(e);
    let l = idx.get(r);
    if (!l) idx.set(r, (l = []));
    l.push({ seq: seq++, holder });
  };
  for (const v of k.L.vmas) {
    if (!m[v.off + V_PRESENT]) continue;
    const R = k.L.regions[v.region];
    const P = k.L.processes[v.process].name;
    const take = (e: number) => e & E_PRESENT && !(e & (E_ZERO | E_ANON | E_TABLE));
    const refs = (e: number) => (k.old || e & (E_DEVMAP) ? 0 : 1);
    const pteRefs = (e: number) => (e & (E_SPECIAL | E_DEVMAP) ? 0 : 1);
    if (R.hasPte) for (let p = 0; p < R.npages; p++) { const e = m[v.pteOff + p]; if (take(e)) add(e, { kind: 'pte', refs: pteRefs(e), who: `PTE of ${P} at ${R.name}+${hex(p * 4096)} (${hex(R.base + p * 4096)})${pteRefs(e) ? '' : e & E_DEVMAP ? ': devmap, holds no reference' : ': special, holds no reference'}` }); }
    if (R.hasPmd) for (let j = 0; j * PMD_NR < R.npages; j++) { const e = m[v.pmdOff + j]; if (take(e)) add(e, { kind: 'pmd', refs: refs(e), who: `PMD of ${P} at ${R.name}+${hex(j * PMD_NR * 4096)}${k.old ? ': devmap, holds no reference' : ''}` }); }
    if (R.hasPud) for (let j = 0; j * PUD_NR < R.npages; j++) { const e = m[v.pudOff + j]; if (take(e)) add(e, { kind: 'pud', refs: refs(e), who: `PUD of ${P} at ${R.name}+${hex(j * PUD_NR * 4096)}${k.old ? ': devmap, holds no reference' : ''}` }); }
  }
  return idx;
}

/** Who holds each reference of folio h (the answer to "who holds these 3 references?"). */
export function holdersOf(k: Kernel, h: number, maps: MappingIndex = mappingHolders(k)): Holder[] {
  const out: Holder[] = [];
  const m = k.m;
  const d = k.L.devices[k.L.recDevice[h]];
  const order = m[k.r(h) + R_ORDER];
  const span = d.alignPages > 1 ? 1 : 1 << order;
  const inFolio = (r: number) => r >= h && r < h + span;
  if (idleRefs(d.pgmap, k.cfg.scheme))
    out.push({ kind: 'idle', refs: 1, who: d.pgmap === 'MEMORY_DEVICE_GENERIC' ? 'device-DAX idle reference (__init_zone_device_page; reset by free_zone_device_folio)' : 'old-scheme FS-DAX idle reference (__init_zone_device_page)' });
  const drv = m[k.r(h) + R_DRV];
  if (drv) out.push({ kind: 'driver', refs: drv, who: driverHolder(k, h) });
  const mapped: { seq: number; holder: Holder }[] = [];
  for (let r = h; r < h + span; r++) for (const x of maps.get(r) ?? []) mapped.push(x);
  mapped.sort((a, b) => a.seq - b.seq);
  for (const x of mapped) out.push(x.holder);
  for (const g of k.L.refs) {
    if (m[g.off + G_STATE] !== G_HELD && m[g.off + G_STATE] !== G_GRABBING) continue;
    const pin = (m[g.off + G_FLAGS] & G_PIN) !== 0;
    let n = 0;
    for (let j = 0; j < m[g.off + G_N]; j++) if (inFolio(m[g.off + G_PAGES + 2 * j] - 1)) n++;
    if (n) out.push({ kind: 'gup', refs: pin && order === 0 ? n * GUP_PIN_COUNTING_BIAS : n, who: `GUP reference ${g.name} (${pin ? 'FOLL_PIN' : 'FOLL_GET'}${m[g.off + G_FLAGS] & G_LONGTERM ? '|FOLL_LONGTERM' : ''}, ${n} page(s))` });
  }
  for (const t of k.L.threads) if (m[t.off + T_TEMPREF] - 1 === h) out.push({ kind: 'transient', refs: 1, who: `temporary reference of thread ${t.name} (dax_fault_iter)` });
  return out;
}

function interesting(k: Kernel, r: number, used: Set<number>): boolean {
  const o = k.r(r);
  if (used.has(r)) return true;
  if (k.m[o + R_HEAD] !== r) return false;
  const d = k.L.devices[k.L.recDevice[r]];
  return k.m[o + R_MAPPING] !== 0 || k.m[o + R_ORDER] > 0 && d.type === 'fsdax' || k.m[o + R_REF] !== initRefcount(d.pgmap, k.cfg.scheme) || k.m[o + R_USERS] > 0 && d.type !== 'fsdax';
}

export function viewState(k: Kernel, always?: Set<number>): View {
  const m = k.m;
  const L = k.L;
  const used = new Set<number>();
  const v: View = { threads: {}, folios: {}, page_tables: {}, dax_entries: {}, files: {}, refs: {}, processes: {}, devices: {} };
  for (const t of L.threads) {
    const st = m[t.off + T_STATUS];
    const T = { status: st === S_DONE ? 'done' : st === S_SLEEPING ? 'sleeping' : 'runnable', op: m[t.off + T_OP] + 1 } as View['threads'][string];
    if (st === S_SLEEPING) T.waiting = describeKey(k, m[t.off + T_KEY]);
    if (m[t.off + T_ERR]) T.error = errnoName(m[t.off + T_ERR]);
    v.threads[t.name] = T;
  }
  for (const vm of L.vmas) {
    if (!m[vm.off + V_PRESENT]) continue;
    const R = L.regions[vm.region];
    const list: View['page_tables'][string] = [];
    const add = (level: string, addr: number, e: number) => {
      if (!(e & E_PRESENT) || e & E_TABLE) return;
      const r = leafRec(e);
      if (r >= 0) used.add(m[k.r(r) + R_HEAD]);
      list.push({ addr: hex(addr), level, pfn: r >= 0 ? hex(pfnOf(L, r)) : null, bits: bits(e) });
    };
    if (R.hasPud) for (let j = 0; j * PUD_NR < R.npages; j++) add('PUD', R.base + j * PUD_NR * 4096, m[vm.pudOff + j]);
    if (R.hasPmd) for (let j = 0; j * PMD_NR < R.npages; j++) add('PMD', R.base + j * PMD_NR * 4096, m[vm.pmdOff + j]);
    if (R.hasPte) for (let p = 0; p < R.npages; p++) add('PTE', R.base + p * 4096, m[vm.pteOff + p]);
    v.page_tables[`${L.processes[vm.process].name}:${R.name}`] = list;
  }
  for (const F of L.files) {
    const list: View['dax_entries'][string] = [];
    for (let i = 0; i < F.maxPages; i++) {
      const x = m[F.xaOff + i];
      if (!x) continue;
      const r = x & (X_ZERO | X_EMPTY) ? -1 : xaRec(x);
      if (r >= 0) used.add(r);
      list.push({ index: i, entry: x & X_EMPTY ? 'empty' : x & X_ZERO ? 'zero' : 'real', order: x & X_PMD ? 9 : 0, pfn: r >= 0 ? hex(pfnOf(L, r)) : null, locked: !!(x & X_LOCKED), dirty: !!(x & X_DIRTY), towrite: !!(x & X_TOWRITE) });
    }
    v.dax_entries[F.name] = list;
    const blocks: number[] = [];
    for (let i = 0; i < F.maxPages; i++) { const r = m[F.extOff + i] - 1; blocks.push(r >= 0 ? L.recPfn[r] : -1); if (r >= 0 && i < 4) used.add(r); }
    while (blocks.length && blocks[blocks.length - 1] === -1) blocks.pop();
    const w = m[F.off + F_INVAL_W];
    v.files[F.name] = { size: m[F.off + F_ISIZE], nlink: m[F.off + F_NLINK], evicted: m[F.off + F_EVICTED] === 2, nrpages: m[F.off + F_NRPAGES], invalidate_lock: w ? `exclusive (${L.threads[w - 1].name})` : m[F.off + F_INVAL_R] ? `shared x${m[F.off + F_INVAL_R]}` : 'free', blocks };
  }
  for (const g of L.refs) {
    const st = ['not taken', 'held', 'released', 'failed'][m[g.off + G_STATE]];
    const pages: string[] = [];
    for (let j = 0; j < m[g.off + G_N]; j++) { const r = m[g.off + G_PAGES + 2 * j] - 1; pages.push(hex(pfnOf(L, r))); if (m[g.off + G_STATE] === G_HELD) used.add(m[k.r(r) + R_HEAD]); }
    v.refs[g.name] = { state: st, kind: m[g.off + G_FLAGS] & G_PIN ? 'FOLL_PIN' : 'FOLL_GET', pages };
  }
  for (const t of L.threads) { const r = m[t.off + T_TEMPREF] - 1; if (r >= 0) used.add(r); }
  const maps = mappingHolders(k);
  for (let r = 0; r < L.nrecs; r++) {
    if (!interesting(k, r, used) && !always?.has(r)) continue;
    const o = k.r(r);
    const h = m[o + R_HEAD];
    const ho = k.r(h);
    const d = L.devices[L.recDevice[r]];
    const mp = m[ho + R_MAPPING];
    const order = m[ho + R_ORDER];
    v.folios[hex(pfnOf(L, r))] = {
      rec: r,
      pfn: hex(pfnOf(L, r)),
      device: `${d.name}:${L.recPfn[r]}`,
      order,
      refcount: m[ho + R_REF],
      mapcount: order > 0 ? m[ho + R_LARGE] : m[ho + R_MAP],
      entire_mapcount: m[ho + R_ENTIRE],
      pincount: m[ho + R_PIN],
      mapping: mp === 0 ? null : mp === MAPPING_DAX_SHARED ? 'DAX_SHARED' : mp >= MAPPING_DEV_BASE ? L.devices[mp - MAPPING_DEV_BASE].name : mappingName(L, mp),
      index: m[ho + R_INDEX],
      share: (k.old ? mp === MAPPING_DAX_SHARED : mp === 0) ? m[ho + R_INDEX] : 0,
      block: d.type === 'fsdax' ? (m[o + R_USERS] ? `in use (${m[o + R_USERS]} owner${m[o + R_USERS] > 1 ? 's' : ''}, allocation #${m[o + R_GEN]})` : m[o + R_GEN] ? 'free' : 'never allocated') : '-',
      holders: holdersOf(k, h, maps),
    };
  }
  for (const p of L.processes) v.processes[p.name] = { alive: ['not yet forked', 'alive', 'exited'][m[p.off + P_ALIVE]], rss_file: m[p.off + P_RSS_FILE], rss_anon: m[p.off + P_RSS_ANON] };
  for (const d of L.devices) v.devices[d.name] = { type: d.pgmap, alive: !!m[d.off + D_ALIVE], pgmap_live: !!m[d.off + D_PGMAP_LIVE], pgmap_refs: m[d.off + D_PGMAP_REF], pgmap_page_refs: m[d.off + D_PGMAP_PAGES] };
  return v;
}
export { R_PIN };
