// The scalar syntaxes: sizes, addresses, pages.

import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatSize, parseAddress, parsePageRef, parseSize } from '../../src/scenario/index.js';

describe('sizes', () => {
  it('accepts bytes, hex and K/M/G/T suffixes (powers of 1024)', () => {
    const cases: [number | string, number][] = [
      [0, 0], [4096, 4096], ['4096', 4096], ['0x1000', 4096], ['8K', 8192], ['8k', 8192],
      ['2M', 2 << 20], ['1G', 2 ** 30], ['1T', 2 ** 40], ['0x10K', 16384],
    ];
    for (const [input, bytes] of cases) assert.equal(parseSize(input), bytes, String(input));
  });

  it('rejects negative, fractional and unknown sizes', () => {
    assert.throws(() => parseSize(-1), /must not be negative/);
    assert.throws(() => parseSize('-4K'), /must not be negative/);
    assert.throws(() => parseSize(1.5), /bad size 1.5/);
    assert.throws(() => parseSize('8Q'), /bad size '8Q'/);
    assert.throws(() => parseSize('8 K'), /bad size/);
    assert.throws(() => parseSize('99999999T'), /too large/);
  });

  it('formats sizes back compactly', () => {
    assert.deepEqual([0, 100, 4096, 6144, 2 << 20, 2 ** 30].map(formatSize), ['0', '100', '4K', '6K', '2M', '1G']);
  });
});

describe('addresses and pages', () => {
  it('parses region and region+offset', () => {
    assert.deepEqual(parseAddress('buf'), { region: 'buf', offset: 0 });
    assert.deepEqual(parseAddress('buf+8K'), { region: 'buf', offset: 8192 });
    assert.deepEqual(parseAddress('my_buf + 0x2000'), { region: 'my_buf', offset: 8192 });
    assert.throws(() => parseAddress('buf+'), /bad address/);
  });

  it('parses FILE@OFFSET and DEVICE:PFN', () => {
    assert.deepEqual(parsePageRef('F@0'), { kind: 'file', file: 'F', offset: 0 });
    assert.deepEqual(parsePageRef('F@8K'), { kind: 'file', file: 'F', offset: 8192 });
    assert.deepEqual(parsePageRef('pmem1:0x200'), { kind: 'device', device: 'pmem1', pfn: 512 });
    assert.deepEqual(parsePageRef('dax0.0:7'), { kind: 'device', device: 'dax0.0', pfn: 7 });
    assert.throws(() => parsePageRef('F'), /bad page 'F'/);
  });
});
