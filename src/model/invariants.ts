// Invariants checked after every atomic step. Each has a stable id and names
// the rule it mirrors (the spec's O1-O6 / N1-N9, or a kernel WARN_ON). Kernel
// WARNs themselves are reported by the step that fires them (Kernel.warn).
import type { Kernel } from './kernel.js';
import {
  E_ANON, E_PRESENT, E_TABLE, E_ZERO, E_SPECIAL, E_DEVMAP, G_FLAGS, G_HELD, G_GRABBING, G_LONGTERM, G_N, G_PAGES, G_PIN, G_STATE, GUP_PIN_COUNTING_BIAS,
  MAPPING_DAX_SHARED, PMD_NR, R_ENTIRE, R_GEN, R_HEAD, R_INDEX, R_LARGE, R_MAP, R_MAPPING, R_ORDER, R_PIN, R_REF, R_USERS, T_TEMPREF,
  V_PRESENT, X_EMPTY, X_PMD, X_ZERO, leafRec, xaRec, D_PGMAP_REF, R_DRV,
} from './state.js';
import { idleRefs } from './kernel/mm/memremap.js';
import { pfnOf } from './kernel.js';

export interface Violation {
  id: string;
  message: string;
}

export const INVARIANTS: { id: string; rule: string }[] = [
  { id: 'block-reuse-under-dma', rule: 'N9: a block whose page a GUP reference holds is not freed or reallocated' },
  { id: 'refcount-underflow', rule: 'page_ref_dec below 0 (VM_BUG_ON_PAGE), or below the idle 1 of an old-scheme/device-DAX page (O1)' },
  { id: 'refcount-below-mapcount', rule: 'N2: folio_ref_count >= folio_mapcount (new scheme)' },
  { id: 'mapcount-mismatch', rule: 'N3: mapcounts equal the page-table entries mapping the folio (O2: zero in the old scheme)' },
  { id: 'refcount-unaccounted', rule: 'N2/O1: refcount = idle base + mappings + GUP references + transient references + driver references' },
  { id: 'free-while-referenced', rule: 'a folio reached refcount 0 (freed) while mappings or GUP references still hold it' },
  { id: 'folio-order-mismatch', rule: 'N4: an associated folio has the order of its DAX entry (WARN in dax_associate_entry)' },
  { id: 'share-accounting', rule: 'N5/O4: mapping/index/share agree with the DAX entries that reference the folio' },
  { id: 'longterm-pin-fsdax', rule: 'N7/O3: no FOLL_LONGTERM pin on an FS-DAX folio' },
  { id: 'pgmap-ref-leak', rule: 'O6: no pgmap torn down while pages are referenced; no get_dev_pagemap left unbalanced' },
  { id: 'stale-dax-entry-at-truncate', rule: 'N6: WARN in truncate_folio_batch_exceptionals: no DAX entry left after dax_break_layout' },
  { id: 'blocked-forever', rule: 'a thread sleeps on a key no one will wake, or waits on a lock no one will release' },
  { id: 'unmount-while-dma-busy', rule: 'N9 (bug 07): a filesystem is unmounted while a page of it is DMA-busy' },
];

/** What holds references on each folio, derived from the state. */
export interface Counts {
  ptes: Int32Array; // per record: PTE mappings of the page (normal pages only)
  huge: Int32Array; // per record (head): PMD/PUD mappings
  gup: Int32Array; // per record (head): references from GUP
  pins: Int32Array; // per record (head): FOLL_PIN pages of a large folio (_pincount)
  temp: Int32Array; // per record (head): transient references of threads
}

/** Scratch counters per layout: the checker calls this for every new state, so it must not allocate. */
const scratch = new WeakMap<object, Counts & { assoc: Int32Array; owner: Int32Array; live: Int32Array }>();

/** Records that can ever change: FS-DAX blocks below the first data block hold filesystem metadata. */
function liveRecs(k: Kernel): Int32Array {
  return scratchOf(k).live;
}

function scratchOf(k: Kernel) {
  let c = scratch.get(k.L);
  if (!c) {
    const n = k.L.nrecs;
    const live: number[] = [];
    for (let r = 0; r < n; r++) {
      const d = k.L.devices[k.L.recDevice[r]];
      if (d.type !== 'fsdax' || k.L.recPfn[r] >= d.firstDataBlock) live.push(r);
    }
    c = { ptes: new Int32Array(n), huge: new Int32Array(n), gup: new Int32Array(n), pins: new Int32Array(n), temp: new Int32Array(n), assoc: new Int32Array(n), owner: new Int32Array(n), live: Int32Array.from(live) };
    scratch.set(k.L, c);
  }
  return c;
}

/** What holds each folio's references, derived from the state (valid until the next call). */
export function countHolders(k: Kernel): Counts {
  const c = scratchOf(k);
  c.ptes.fill(0);
  c.huge.fill(0);
  c.gup.fill(0);
  c.pins.fill(0);
  c.temp.fill(0);
  const m = k.m;
  for (const v of k.L.vmas) {
    if (!m[v.off + V_PRESENT]) continue;
    const R = k.L.regions[v.region];
    const leaf = (e: number) => e & E_PRESENT && !(e & (E_ZERO | E_ANON | E_TABLE));
    // A normal PTE (vm_insert_page: p2pmem, either scheme) holds a reference; old-scheme DAX PTEs are devmap+special.
    if (R.hasPte) for (let p = 0; p < R.npages; p++) { const e = m[v.pteOff + p]; if (leaf(e) && !(e & (E_SPECIAL | E_DEVMAP))) c.ptes[leafRec(e)]++; }
    const huge = (e: number) => leaf(e) && !k.old; // old-scheme huge DAX entries are devmap: no reference
    if (R.hasPmd) for (let j = 0; j < Math.ceil(R.npages / PMD_NR); j++) { const e = m[v.pmdOff + j]; if (huge(e)) c.huge[leafRec(e)]++; }
    if (R.hasPud) for (let j = 0; j < Math.ceil(R.npages / (PMD_NR * PMD_NR)); j++) { const e = m[v.pudOff + j]; if (huge(e)) c.huge[leafRec(e)]++; }
  }
  for (const g of k.L.refs) {
    if (m[g.off + G_STATE] !== G_HELD && m[g.off + G_STATE] !== G_GRABBING) continue;
    const pin = (m[g.off + G_FLAGS] & G_PIN) !== 0;
    for (let j = 0; j < m[g.off + G_N]; j++) {
      const h = m[k.r(m[g.off + G_PAGES + 2 * j] - 1) + R_HEAD];
      const large = m[k.r(h) + R_ORDER] > 0;
      c.gup[h] += pin && !large ? GUP_PIN_COUNTING_BIAS : 1;
      if (pin && large) c.pins[h]++;
    }
  }
  for (const t of k.L.threads) { const r = m[t.off + T_TEMPREF]; if (r) c.temp[r - 1]++; }
  return c;
}

const name = (k: Kernel, r: number) => `pfn 0x${pfnOf(k.L, r).toString(16)} (${k.L.devices[k.L.recDevice[r]].name}:${k.L.recPfn[r]})`;

export function checkInvariants(k: Kernel): Violation[] {
  const out: Violation[] = [];
  const m = k.m;
  const c = countHolders(k);
  const live = liveRecs(k);
  for (let li = 0; li < live.length; li++) {
    const r = live[li];
    const o = k.r(r);
    if (m[o + R_HEAD] !== r) continue; // tail pages are checked through their head
    const d = k.L.devices[k.L.recDevice[r]];
    const order = m[o + R_ORDER];
    const rc = m[o + R_REF];
    const base = idleRefs(d.pgmap, k.cfg.scheme);
    if (rc < 0 || rc < base) { out.push({ id: 'refcount-underflow', message: `${name(k, r)}: refcount ${rc} below ${base}` }); continue; }
    let ptes = 0;
    const pages = d.alignPages > 1 ? 1 : 1 << order;
    for (let j = 0; j < pages; j++) {
      ptes += c.ptes[r + j];
      if (m[k.r(r + j) + R_MAP] !== c.ptes[r + j])
        out.push({ id: 'mapcount-mismatch', message: `${name(k, r + j)}: page mapcount ${m[k.r(r + j) + R_MAP]} but ${c.ptes[r + j]} PTE(s) map it` });
    }
    const mc = order > 0 ? m[o + R_LARGE] : m[o + R_MAP];
    if (order > 0 && (m[o + R_ENTIRE] !== c.huge[r] || m[o + R_LARGE] !== ptes + c.huge[r]))
      out.push({ id: 'mapcount-mismatch', message: `${name(k, r)}: entire/large mapcount ${m[o + R_ENTIRE]}/${m[o + R_LARGE]} but ${c.huge[r]} huge and ${ptes} PTE mapping(s)` });
    if (!k.old && rc < mc) out.push({ id: 'refcount-below-mapcount', message: `${name(k, r)}: refcount ${rc} < mapcount ${mc}` });
    if (order > 0 && m[o + R_PIN] !== c.pins[r]) out.push({ id: 'refcount-unaccounted', message: `${name(k, r)}: pincount ${m[o + R_PIN]} but ${c.pins[r]} pinned page(s)` });
    const drv = m[o + R_DRV];
    const expected = base + ptes + c.huge[r] + c.gup[r] + c.temp[r] + drv;
    if (rc !== expected) {
      const id = rc === 0 && base === 0 ? 'free-while-referenced' : 'refcount-unaccounted';
      out.push({ id, message: `${name(k, r)}: refcount ${rc}, but its holders account for ${expected} (base ${base}, ${ptes + c.huge[r]} mapping(s), GUP ${c.gup[r]}, transient ${c.temp[r]}, driver ${drv})` });
    }
  }
  // DAX entries vs folio association (fs/dax.c WARNs; N4, N5, O4)
  const { assoc, owner } = scratchOf(k);
  assoc.fill(0);
  owner.fill(-1);
  for (const F of k.L.files) {
    for (let i = 0; i < F.maxPages; i++) {
      const x = m[F.xaOff + i];
      if (!x || x & (X_ZERO | X_EMPTY)) continue;
      const h = xaRec(x);
      const order = x & X_PMD ? 9 : 0;
      if (!k.old && (m[k.r(h) + R_HEAD] !== h || m[k.r(h) + R_ORDER] !== order))
        out.push({ id: 'folio-order-mismatch', message: `${F.name}@${i * 4096}: entry of order ${order} but ${name(k, h)} has order ${m[k.r(h) + R_ORDER]}` });
      const pages = k.old ? 1 << order : 1;
      for (let j = 0; j < pages; j++) { assoc[h + j]++; owner[h + j] = F.id; }
    }
  }
  for (let li = 0; li < live.length; li++) {
    const r = live[li];
    const d = k.L.devices[k.L.recDevice[r]];
    if (d.type !== 'fsdax') continue;
    const o = k.r(r);
    if (!k.old && m[o + R_HEAD] !== r) continue;
    const mapping = m[o + R_MAPPING];
    const share = m[o + R_INDEX];
    const a = assoc[r];
    const shared = k.old ? mapping === MAPPING_DAX_SHARED : mapping === 0 && share > 0;
    let ok: boolean;
    // dax_folio_put leaves an order-0 folio's index/share as it was (only mapping is cleared), so with no
    // entry left only mapping is checked
    if (a === 0) ok = k.old ? mapping === 0 || (mapping === MAPPING_DAX_SHARED && share === 0) : mapping === 0;
    else if (shared) ok = share === a;
    else if (a === 0) ok = mapping === 0;
    else ok = a === 1 && mapping === owner[r] + 1;
    if (!ok)
      out.push({ id: 'share-accounting', message: `${name(k, r)}: mapping ${mapping === MAPPING_DAX_SHARED ? 'DAX_SHARED' : mapping ? k.L.files[mapping - 1].name : 'NULL'}, share/index ${share}, but ${a} DAX entr${a === 1 ? 'y' : 'ies'} reference it` });
  }
  // GUP references: N7 and N9
  for (const g of k.L.refs) {
    if (m[g.off + G_STATE] !== G_HELD && m[g.off + G_STATE] !== G_GRABBING) continue;
    for (let j = 0; j < m[g.off + G_N]; j++) {
      const r = m[g.off + G_PAGES + 2 * j] - 1;
      const d = k.L.devices[k.L.recDevice[r]];
      if (d.type !== 'fsdax') continue;
      if (m[g.off + G_FLAGS] & G_LONGTERM) out.push({ id: 'longterm-pin-fsdax', message: `${g.name} is a FOLL_LONGTERM pin of FS-DAX ${name(k, r)}` });
      if (m[k.r(r) + R_USERS] === 0 || m[k.r(r) + R_GEN] !== m[g.off + G_PAGES + 2 * j + 1])
        out.push({ id: 'block-reuse-under-dma', message: `block ${k.L.recPfn[r]} of ${d.name} was ${m[k.r(r) + R_USERS] ? 'reallocated' : 'freed'} while GUP reference ${g.name} still holds ${name(k, r)}: DMA can corrupt it` });
    }
  }
  return out;
}

/** Checks that only make sense when nothing more can happen. */
export function checkFinal(k: Kernel): Violation[] {
  const out: Violation[] = [];
  for (const d of k.L.devices)
    if (k.m[d.off + D_PGMAP_REF] > 0) out.push({ id: 'pgmap-ref-leak', message: `${d.name}: ${k.m[d.off + D_PGMAP_REF]} get_dev_pagemap reference(s) never put` });
  return out;
}
