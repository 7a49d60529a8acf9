// A reviewer's proposed change, modelled as a variant of one kernel function:
// the checker finds what it breaks (the README's worked example).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { check, folio_mapcount, folioOf, type CheckOptions } from '../../src/index.js';

const tdma = join(import.meta.dirname, '..', '..', '..', 'scenarios', 'truncate-waits-for-dma.yaml');

/** The proposal: a page nobody maps any more is not busy. */
const notBusyUnlessMapped: CheckOptions['variant'] = (cfg) => ({
  ...cfg,
  override: {
    dax_busy_page: (k, entry, original) => {
      const page = original(k, entry);
      return page >= 0 && folio_mapcount(k, folioOf(k, page)) === 0 ? -1 : page;
    },
  },
});

test('"a page nobody maps is not busy" lets truncate free a block under DMA, even on latest', async () => {
  const r = await check(tdma, {
    kernel: 'latest',
    invariant: 'block-reuse-under-dma',
    variant: notBusyUnlessMapped,
  });
  assert.equal(r.verdict, 'violation');
  assert.equal(r.violation!.invariant, 'block-reuse-under-dma');
  // the counterexample is replayed with the variant too: the trace ends at the violation (after
  // the WARN of the entry's deletion on the way)
  assert.deepEqual(r.violation!.trace.violations.map((v: { id: string }) => v.id), ['warn-dax-folio-put-split-refcount', 'block-reuse-under-dma']);
});

test('without an invariant named, the first thing the change breaks on latest is dax_folio_put\'s WARN, then the DMA', async () => {
  const r = await check(tdma, {
    kernel: 'latest',
    variant: notBusyUnlessMapped,
  });
  assert.equal(r.violation?.invariant, 'warn-dax-folio-put-split-refcount');
  assert.ok(r.violation!.consequences.includes('block-reuse-under-dma'), r.violation!.consequences.join(', '));
});

test('an override that delegates to the original changes nothing', async () => {
  const r = await check(tdma, { kernel: 'latest', variant: (cfg) => ({ ...cfg, override: { dax_busy_page: (k, e, original) => original(k, e) } }) });
  assert.equal(r.verdict, 'ok');
});
