// Text renderings of a run for people.
import type { PageRef } from '../scenario/types.js';
import type { SimResult } from '../engine/simulate.js';
import { describeConfig } from '../model/versions.js';
import { pfnOf } from '../model/kernel.js';

export function formatRun(r: SimResult): string {
  const out: string[] = [];
  out.push(`${r.scenario.name}  [kernel ${describeConfig(r.config)}]`);
  let op = '';
  for (const s of r.steps) {
    const key = `${s.thread}.${s.op}`;
    if (key !== op) {
      out.push(`-- ${key} ${s.opName}`);
      op = key;
    }
    const changes = s.events.filter((e) => e.kind !== 'page_ref').map((e) => e.text);
    const refs = s.events.filter((e) => e.kind === 'page_ref').map((e) => e.text.replace(/^page_ref_mod: /, ''));
    out.push(`  ${String(s.index).padStart(3)} ${s.thread.padEnd(8)} ${s.fn}: ${s.what}${s.outcome === 'slept' ? '  [sleeps]' : ''}`);
    for (const c of changes) out.push(`        ${c}`);
    for (const c of refs) out.push(`        ref ${c}`);
    for (const v of s.violations) out.push(`        !! ${v.id}: ${v.message}`);
  }
  const last = r.views[r.views.length - 1];
  out.push('', 'pages touched (at the end):');
  out.push(`  ${'pfn'.padEnd(10)} ${'device'.padEnd(12)} ${'rc'.padStart(5)} ${'map'.padStart(4)} ${'pin'.padStart(4)} ${'ord'.padStart(3)}  mapping/share  holders`);
  for (const f of Object.values(last.folios)) {
    const ms = f.mapping ?? (f.share ? `shared x${f.share}` : 'NULL');
    out.push(`  ${f.pfn.padEnd(10)} ${f.device.padEnd(12)} ${String(f.refcount).padStart(5)} ${String(f.mapcount).padStart(4)} ${String(f.pincount).padStart(4)} ${String(f.order).padStart(3)}  ${ms.padEnd(13)}  ${f.holders.map((h) => `${h.who}${h.refs ? ` +${h.refs}` : ''}`).join('; ') || '-'}`);
  }
  out.push('', `operations: ${r.ops.map((o) => `${o.thread}.${o.op}${o.error !== 'none' ? `=${o.error}` : ''}${o.done ? '' : '(blocked)'}`).join(' ')}`);
  out.push(`violations: ${r.violations.length ? '' : 'none'}`);
  for (const v of r.violations) out.push(`  step ${v.step}: ${v.id}: ${v.message}`);
  if (r.expectations.length) {
    const ok = r.expectations.filter((e) => e.ok).length;
    out.push(`expectations: ${ok} passed, ${r.expectations.length - ok} failed`);
    for (const e of r.expectations) if (!e.ok) out.push(`  line ${e.expect.pos.line}: ${e.message}`);
  }
  return out.join('\n') + '\n';
}

/** ftrace page_ref style: one line per refcount change. */
export function formatPageRef(r: SimResult): string {
  const out: string[] = [];
  for (const s of r.steps) for (const e of s.events) if (e.kind === 'page_ref') out.push(`${s.thread}-${s.index}: ${e.text}`);
  return out.join('\n') + '\n';
}

export function formatCompare(a: SimResult, b: SimResult): string {
  const out: string[] = [];
  const w = 60;
  out.push(`${describeConfig(a.config).padEnd(w)} | ${describeConfig(b.config)}`);
  const pt = (r: SimResult) => {
    const m = new Map<string, string>();
    for (const o of r.ops) {
      const i = o.step;
      const v = r.views[Math.min(i, r.views.length - 1)];
      const folios = Object.values(v.folios).slice(0, 4).map((f) => `${f.pfn} rc=${f.refcount} mc=${f.mapcount}`).join(' ');
      m.set(`${o.thread}.${o.op}`, `${o.thread}.${o.op}${o.error !== 'none' ? ` ${o.error}` : ''}${o.done ? '' : ' BLOCKED'} ${folios}`);
    }
    return m;
  };
  const ma = pt(a);
  const mb = pt(b);
  const keys = [...new Set([...ma.keys(), ...mb.keys()])];
  for (const k of keys) {
    const x = ma.get(k) ?? '-';
    const y = mb.get(k) ?? '-';
    const strip = (s: string) => s.replace(/0x[0-9a-f]+ /g, '');
    out.push(`${x.slice(0, w).padEnd(w)} ${strip(x) === strip(y) ? '|' : '*'} ${y}`);
  }
  const vs = (r: SimResult) => [...new Set(r.violations.map((v) => v.id))].join(', ') || 'none';
  out.push(`${('violations: ' + vs(a)).padEnd(w)} ${vs(a) === vs(b) ? '|' : '*'} violations: ${vs(b)}`);
  return out.join('\n') + '\n';
}

export function formatExplain(r: SimResult, page: PageRef, after?: string): string {
  let idx = r.views.length - 1;
  if (after) {
    const [t, n] = after.split('.');
    const o = r.ops.find((x) => x.thread === t && x.op === Number(n) && x.done);
    if (!o) return `${after} never completed in this run\n`;
    idx = o.step;
  }
  const v = r.views[idx];
  const label = page.kind === 'file' ? `${page.file}@${page.offset}` : `${page.device}:${page.pfn}`;
  const f = Object.values(v.folios).find((x) => (page.kind === 'device' ? x.device === `${page.device}:${page.pfn}` : true) && matchesFile(r, idx, page, x.pfn));
  if (!f) return `${label}: no such page in the view at that point\n`;
  const out = [`${label} = pfn ${f.pfn}, folio order ${f.order}: refcount ${f.refcount}, mapcount ${f.mapcount}, pincount ${f.pincount} [${describeConfig(r.config)}]`];
  for (const h of f.holders) out.push(`  ${h.refs ? `+${h.refs}`.padStart(6) : '    0 '}  ${h.who}`);
  return out.join('\n') + '\n';
}

function matchesFile(r: SimResult, idx: number, page: PageRef, pfn: string): boolean {
  if (page.kind !== 'file') return true;
  const blocks = r.views[idx].files[page.file]?.blocks ?? [];
  const b = blocks[Math.floor(page.offset / 4096)];
  if (b === undefined || b < 0) return false;
  const dev = r.machine.L.devices[r.machine.L.files.find((x) => x.name === page.file)!.device];
  const rec = dev.recBase + b;
  const head = Object.values(r.views[idx].folios).find((x) => x.pfn === `0x${pfnOf(r.machine.L, rec).toString(16)}`);
  return head ? head.pfn === pfn : false;
}
