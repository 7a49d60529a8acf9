// Scalar syntaxes of the scenario language: sizes, names, addresses, page refs.
// Each parser throws a plain Error whose message is user-facing; the caller
// attaches the source position.

import type { Address, PageRef, Size } from './types.js';

export const PAGE_SIZE = 4096;

/** Threads, processes, files, regions, refs: no '.', '+', '@' or ':' so that
 * `app.3`, `buf+4K` and `F@0` are unambiguous. */
export const NAME_RE = /^[A-Za-z_][A-Za-z0-9_-]*$/;
/** A schedule entry: THREAD, THREAD:N (N atomic steps of that thread) or THREAD@FUNCTION (until it has run a step of that kernel function). */
export const SCHEDULE_RE = /^[A-Za-z_][A-Za-z0-9_-]*(:[1-9][0-9]*|@[A-Za-z_][A-Za-z0-9_]*)?$/;
/** Device names may contain '.' like real devdax names (dax0.0). */
export const DEVICE_NAME_RE = /^[A-Za-z_][A-Za-z0-9_.-]*$/;
/** A size written as a string: decimal or hex, optional K/M/G/T suffix (powers of 1024). */
export const SIZE_RE = /^(0[xX][0-9a-fA-F]+|[0-9]+)([KMGTkmgt])?$/;
export const ADDRESS_RE = /^([A-Za-z_][A-Za-z0-9_-]*)\s*(?:\+\s*(\S+))?$/;
export const FILE_PAGE_RE = /^([A-Za-z_][A-Za-z0-9_-]*)@(\S+)$/;
export const DEVICE_PAGE_RE = /^([A-Za-z_][A-Za-z0-9_.-]*):(0[xX][0-9a-fA-F]+|[0-9]+)$/;
export const AFTER_RE = /^([A-Za-z_][A-Za-z0-9_-]*)\.([0-9]+)$/;

const SUFFIX: Record<string, number> = { k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 };

const SIZE_HINT = 'expected bytes or a number with a K, M or G suffix, like 4096, 0x1000, 8K or 2M';

/** Message for a value that is not a valid size. */
export function sizeMessage(input: unknown): string {
  if (typeof input === 'number' && input < 0) return `size must not be negative, got ${input}`;
  if (typeof input === 'string' && /^\s*-/.test(input)) return `size must not be negative, got '${input}'`;
  if (typeof input === 'string') return `bad size '${input}': ${SIZE_HINT}`;
  return `bad size ${describeValue(input)}: ${SIZE_HINT}`;
}

export function parseSize(input: number | string): Size {
  let n: number;
  if (typeof input === 'number') {
    n = input;
  } else {
    const m = SIZE_RE.exec(input.trim());
    if (!m) throw new Error(sizeMessage(input));
    n = Number(m[1]) * (m[2] ? SUFFIX[m[2].toLowerCase()] : 1);
  }
  if (!Number.isInteger(n) || n < 0) throw new Error(sizeMessage(input));
  if (!Number.isSafeInteger(n)) throw new Error(`size ${input} is too large`);
  return n;
}

export function parseAddress(input: string): Address {
  const m = ADDRESS_RE.exec(input.trim());
  if (!m) throw new Error(`bad address '${input}': expected REGION or REGION+OFFSET, like buf or buf+8K`);
  return { region: m[1], offset: m[2] === undefined ? 0 : within(input, () => parseSize(m[2])) };
}

export function parsePageRef(input: string): PageRef {
  const s = input.trim();
  const f = FILE_PAGE_RE.exec(s);
  if (f) return { kind: 'file', file: f[1], offset: within(input, () => parseSize(f[2])) };
  const d = DEVICE_PAGE_RE.exec(s);
  if (d) return { kind: 'device', device: d[1], pfn: Number(d[2]) };
  throw new Error(`bad page '${input}': expected FILE@OFFSET (like F@8K) or DEVICE:PFN (like pmem0:0x200)`);
}

/** Prefix a size error with the value it is part of. */
function within<T>(whole: string, fn: () => T): T {
  try {
    return fn();
  } catch (e) {
    throw new Error(`in '${whole}': ${(e as Error).message}`);
  }
}

/** `app.3` -> thread and 1-based step number. */
export function parseAfter(input: string): { thread: string; step: number } {
  const m = AFTER_RE.exec(input.trim());
  if (!m) throw new Error(`bad 'after' value '${input}': expected THREAD.N, like app.3`);
  const step = Number(m[2]);
  if (step < 1) throw new Error(`bad 'after' value '${input}': steps are numbered from 1`);
  return { thread: m[1], step };
}

export function roundUpToPage(n: Size): Size {
  return Math.ceil(n / PAGE_SIZE) * PAGE_SIZE;
}

/** 8192 -> "8K", 3000 -> "3000": for messages. */
export function formatSize(n: Size): string {
  for (const [suffix, unit] of [['G', 2 ** 30], ['M', 2 ** 20], ['K', 2 ** 10]] as const) {
    if (n >= unit && n % unit === 0) return `${n / unit}${suffix}`;
  }
  return String(n);
}

/** A short description of a YAML value for "got ..." in messages. */
export function describeValue(v: unknown): string {
  if (v === null || v === undefined) return 'nothing';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'object') return 'a mapping';
  if (typeof v === 'string') return `'${v}'`;
  return String(v);
}
