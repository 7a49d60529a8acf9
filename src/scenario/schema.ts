// The structural schema of a scenario file, in zod. It is the single source
// for both validation (scenarioSchema) and the published JSON Schema
// (jsonSchemaSource). Cross-references between names are checked later, in
// check.ts, because zod sees one value at a time.

import { z } from 'zod';
import { DEVICE_KINDS, OP_NAMES, type OpName, type StepOf } from './types.js';
import {
  ADDRESS_RE, AFTER_RE, DEVICE_NAME_RE, SCHEDULE_RE, DEVICE_PAGE_RE, FILE_PAGE_RE, NAME_RE, SIZE_RE,
  formatSize, parseAddress, parseAfter, parsePageRef, parseSize, sizeMessage, describeValue,
} from './values.js';

// ---- building blocks -------------------------------------------------------

/** A schema-level message that leaves missing values to the generic
 * "missing required field" message (see messages.ts). */
const msg = (fn: (input: unknown) => string) =>
  (iss: { input?: unknown }) => (iss.input === undefined ? undefined : fn(iss.input));

/** Run a value parser from values.ts inside zod, turning its throw into an issue. */
function parsed<I, O>(fn: (v: I) => O) {
  return (v: I, ctx: z.RefinementCtx) => {
    try {
      return fn(v);
    } catch (e) {
      ctx.issues.push({ code: 'custom', message: (e as Error).message, input: v });
      return z.NEVER;
    }
  };
}

/** A mapping that rejects unknown keys with a message naming the allowed ones.
 * `what` is null for the top level. */
function obj<S extends z.core.$ZodLooseShape>(what: string | null, shape: S) {
  const allowed = Object.keys(shape).filter((k) => k !== '$schema').join(', ');
  return z.strictObject(shape, {
    error: (iss) => {
      if (iss.code !== 'unrecognized_keys') return undefined;
      const where = what === null ? 'unknown top-level key' : `unknown field in ${what}:`;
      return `${where} '${iss.keys[0]}'; expected one of ${allowed}`;
    },
  });
}

// Shared pieces carry a meta id so the JSON Schema puts them once in $defs.
const sizeBase = z.union(
  [z.int().min(0, { error: msg(sizeMessage) }), z.string().regex(SIZE_RE, { error: msg(sizeMessage) })],
  { error: msg(sizeMessage) },
).meta({
  id: 'Size',
  description: 'Bytes: an integer, or a string such as 4096, 0x1000, 8K, 2M or 1G (K, M, G, T are powers of 1024)',
});
const size = (description: string) => sizeBase.transform(parsed(parseSize)).meta({ description });
/** A size field with a default. (zod drops `default` beside a $ref, so say it in words.) */
const sizeOr = (dflt: number, description: string) =>
  sizeBase.transform(parsed(parseSize)).default(dflt).meta({ description: `${description} (default ${formatSize(dflt)})` });

const nameOf = (what: string, re = NAME_RE) =>
  z.string().regex(re, {
    error: msg((v) => `bad ${what} name ${describeValue(v)}: use letters, digits, '_' and '-', starting with a letter or '_'`),
  });
const name = (what: string, description: string) => nameOf(what).describe(description);
const deviceName = (description: string) => nameOf('device', DEVICE_NAME_RE).describe(description);

const addressMessage = msg((v) => `bad address ${describeValue(v)}: expected REGION or REGION+OFFSET, like buf or buf+8K`);
const addressBase = z.string({ error: addressMessage }).regex(ADDRESS_RE, { error: addressMessage }).meta({
  id: 'Address',
  description: 'A virtual address: REGION or REGION+OFFSET, where REGION is named by `mmap ... as:`, e.g. buf+8K',
});
const address = (description: string) => addressBase.transform(parsed(parseAddress)).meta({ description });

const devicePageMessage = msg((v) => `bad device page ${describeValue(v)}: expected DEVICE:PFN, like priv0:3`);
/** A page of a device by pfn index (`priv0:3`). */
const devicePage = (description: string) =>
  z.string({ error: devicePageMessage }).regex(DEVICE_PAGE_RE, { error: devicePageMessage })
    .transform(parsed(parsePageRef)).describe(description);

// `kernel: 6.15` is a YAML number (and 6.10 would read as 6.1).
const kernelName = (description: string) =>
  z.string({ error: msg((v) => `'kernel' must be a string such as v6.15, got ${describeValue(v)}; write it as v6.15 or in quotes`) })
    .describe(description);

const count = (description: string) => z.int().min(0).describe(description);

// ---- operations ------------------------------------------------------------

type Body<S> = Omit<S, 'op' | 'pos' | 'label'>;
const fileField = name('file', 'A file declared under `files`');

/** Fields of each operation. Defaults match the kernel calls they model. */
export const OP_BODIES = {
  mmap: obj('mmap', {
    file: fileField.optional(),
    device: deviceName('A devdax device to map directly (instead of `file`)').optional(),
    len: size('Length to map; the kernel rounds it up to 4K'),
    offset: sizeOr(0, 'File or device offset to map from; a multiple of 4K'),
    shared: z.boolean().default(true).describe('MAP_SHARED (true) or MAP_PRIVATE (false)'),
    sync: z.boolean().default(false).describe('MAP_SYNC (needs MAP_SHARED_VALIDATE on a DAX file)'),
    as: name('region', 'Name of the new mapped region, used in addresses like `buf+4K`'),
    addr: size('Fixed virtual address hint: not modelled, a scenario that sets it is rejected').optional(),
  }),
  munmap: obj('munmap', {
    at: address('Start address, `region` or `region+OFFSET`'),
    len: size('Length to unmap; the kernel rounds it up to 4K'),
  }),
  madvise: obj('madvise', {
    at: address('Start address, `region` or `region+OFFSET`'),
    len: size('Length of the range; the kernel rounds it up to 4K'),
    advice: z.enum(['dontneed']).describe('The advice: dontneed (MADV_DONTNEED: zap the range, keep the mapping), the only one modelled'),
  }),
  touch: obj('touch', {
    at: address('Address to access, `region` or `region+OFFSET`'),
    write: z.boolean().default(false).describe('Write access (a write fault) rather than a read'),
    len: sizeOr(4096, 'Touch every page in [at, at+len)'),
  }),
  gup: obj('gup', {
    at: address('Start address, `region` or `region+OFFSET`'),
    len: sizeOr(4096, 'Length of the range to get'),
    pin: z.boolean().default(false).describe('FOLL_PIN (pin_user_pages) rather than FOLL_GET'),
    longterm: z.boolean().default(false).describe('FOLL_LONGTERM'),
    fast: z.boolean().default(true).describe('Try GUP-fast first'),
    write: z.boolean().default(true).describe('FOLL_WRITE'),
    as: name('ref', 'Name of the reference, for `unpin` and `dma_write`'),
  }),
  unpin: obj('unpin', { ref: name('ref', 'A reference taken by `gup ... as:`') }),
  dma_write: obj('dma_write', { ref: name('ref', 'A reference taken by `gup ... as:`') }),
  fork: obj('fork', { child: name('process', 'Name of the child process') }),
  exit: obj('exit', {}),
  truncate: obj('truncate', { file: fileField, size: size('New file size in bytes') }),
  punch_hole: obj('punch_hole', {
    file: fileField,
    offset: size('Start of the hole in bytes'),
    len: size('Length of the hole in bytes'),
  }),
  unlink: obj('unlink', { file: fileField }),
  unmount: obj('unmount', { device: deviceName('The fsdax device whose filesystem to unmount') }),
  reflink: obj('reflink', {
    src: name('file', 'Source file'),
    dst: name('file', 'Destination file'),
    offset: size('Source offset'),
    len: size('Length to share'),
    dst_offset: size('Destination offset (default: same as `offset`)').optional(),
  }),
  write: obj('write', {
    file: fileField,
    offset: size('File offset of the write() call'),
    len: size('Length of the write() call'),
  }),
  fsync: obj('fsync', {
    file: fileField,
    offset: size('Start of a range to write back with sync_file_range(WAIT_BEFORE | WRITE | WAIT_AFTER) instead of fsync(): the range\'s DAX entries only, and no log force (default 0; needs `len`)').optional(),
    len: size('Length of that range (positive); without it, fsync() of the whole file').optional(),
  }),
  remove_device: obj('remove_device', { device: deviceName('The device to remove (unbind)') }),
  page_alloc: obj('page_alloc', { page: devicePage('The private/coherent device page the driver allocates, DEVICE:PFN') }),
  page_get: obj('page_get', { page: devicePage('The device page, DEVICE:PFN') }),
  page_put: obj('page_put', { page: devicePage('The device page, DEVICE:PFN') }),
} satisfies { [K in OpName]: z.ZodType<Partial<Body<StepOf<K>>>> };

/** One line per operation, for editors. */
export const OP_DOCS: Record<OpName, string> = {
  mmap: 'mmap() a file on an fsdax device, or a devdax device, as a named region',
  munmap: 'munmap() part or all of a region',
  madvise: 'madvise(MADV_DONTNEED) part or all of a region: drop its page-table entries, keep the mapping',
  touch: 'Access pages of a region from the CPU (page faults as needed)',
  gup: 'get_user_pages / pin_user_pages on a range, keeping the pages as a named ref',
  unpin: 'Release the pages of a ref (put_page or unpin_user_page)',
  dma_write: 'A device writes through a ref (DMA to the pages it holds)',
  fork: 'fork() the thread\'s process into a named child process',
  exit: 'The thread\'s process exits, tearing down its mappings',
  truncate: 'truncate() a file to a size',
  punch_hole: 'fallocate(FALLOC_FL_PUNCH_HOLE) a range of a file',
  unlink: 'unlink() a file (freed once its last user is gone)',
  unmount: 'Unmount the filesystem on an fsdax device',
  reflink: 'FICLONERANGE: share a range of one file\'s blocks into another',
  write: 'write() to a file (through the DAX I/O path)',
  fsync: 'fsync() a file, or sync_file_range() of a range of it (offset, len)',
  remove_device: 'Unbind a device (memunmap_pages / notify failure)',
  page_alloc: 'A driver allocates a page of a private or coherent device (zone_device_page_init)',
  page_get: 'A driver takes a reference on a private, coherent or p2pdma device page (folio_get)',
  page_put: 'A driver drops a reference on a private, coherent or p2pdma device page (put_page)',
};

const label = z.string().describe('Optional label, for humans').optional();

/** A step as the validator passes it on: `{ op, [op]: body, label? }`. */
const normalizedStep = z.discriminatedUnion(
  'op',
  OP_NAMES.map((op) => z.strictObject({ op: z.literal(op), [op]: OP_BODIES[op], label })) as unknown as
    [z.ZodObject, ...z.ZodObject[]],
);
export type RawStep = { op: OpName; label?: string } & Record<string, unknown>;

const OPS_LIST = OP_NAMES.join(', ');

/** Turn a YAML step (`- touch: {...}`, `- exit`) into `{ op, [op]: body, label }`,
 * with the one-operation-per-step errors located at the offending key. */
function normalizeStep(v: unknown, ctx: z.RefinementCtx): unknown {
  const fail = (message: string, key?: string): never => {
    ctx.issues.push({ code: 'custom', message, input: v, path: key === undefined ? [] : [key], params: { target: 'key' } });
    return z.NEVER as never;
  };
  const isOp = (k: string): k is OpName => (OP_NAMES as readonly string[]).includes(k);
  if (typeof v === 'string') {
    if (isOp(v)) return { op: v, [v]: {} };
    return fail(`unknown operation '${v}'; expected one of ${OPS_LIST}`);
  }
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    return fail(`a step must be an operation such as 'touch: { at: buf }', got ${describeValue(v)}`);
  }
  const rec = v as Record<string, unknown>;
  const keys = Object.keys(rec).filter((k) => k !== 'label');
  const ops = keys.filter(isOp);
  if (keys.length === 0) return fail(`step has no operation; expected one of ${OPS_LIST}`);
  if (ops.length === 0) return fail(`unknown operation '${keys[0]}'; expected one of ${OPS_LIST}`, keys[0]);
  if (ops.length > 1) return fail(`step has two operations, '${ops[0]}' and '${ops[1]}'; put each in its own step`, ops[1]);
  const op = ops[0];
  const extra = keys.find((k) => k !== op);
  if (extra !== undefined) {
    const hint = extra in OP_BODIES[op].shape ? `; indent it under '${op}'` : '; a step is one operation plus an optional label';
    return fail(`'${extra}' is not an operation${hint}`, extra);
  }
  // `exit:` / `exit: null` mean no fields.
  return { ...rec, op, [op]: rec[op] ?? {} };
}

const validatingStep = z.unknown().transform(normalizeStep).pipe(normalizedStep);

/** The published shape of a step: one operation key, or a bare `exit`. */
const jsonStep = z.union([
  ...OP_NAMES.map((op) => {
    const body = (op === 'exit' ? z.union([z.null(), OP_BODIES.exit]) : OP_BODIES[op]).meta({ description: OP_DOCS[op] });
    return z.strictObject({ [op]: body, label }).meta({ title: op, description: OP_DOCS[op] });
  }),
  z.literal('exit').meta({ description: OP_DOCS.exit }),
]).meta({ id: 'Step', description: 'One operation, written as `OPERATION: { fields }`' });

// ---- scenario --------------------------------------------------------------

const device = obj('device', {
  name: deviceName('Device name, e.g. pmem0 or dax0.0'),
  type: z.enum(DEVICE_KINDS).describe('fsdax: a pmem block device with a DAX filesystem (MEMORY_DEVICE_FS_DAX); devdax: a character device mapped directly (MEMORY_DEVICE_GENERIC); private, coherent: driver-managed device memory (MEMORY_DEVICE_PRIVATE, MEMORY_DEVICE_COHERENT); p2pdma: PCI peer-to-peer memory (MEMORY_DEVICE_PCI_P2PDMA), mapped through its p2pmem/allocate file'),
  size: size('Capacity'),
  align: size('devdax only: mapping alignment, 4K, 2M (default) or 1G').optional(),
  fs: z.enum(['xfs', 'ext4']).describe('fsdax only: filesystem (default xfs)').optional(),
});

const file = obj('file', {
  name: name('file', 'File name, used by operations and in pages like `F@8K`'),
  device: deviceName('The fsdax device holding the file'),
  size: size('Initial file size; its blocks are allocated'),
  align: size('Alignment of the file\'s extent start on the device, e.g. 2M for PMD-sized folios').optional(),
});

const thread = (step: z.ZodType) => obj('thread', {
  name: name('thread', 'Thread name, used by `schedule` and `after: THREAD.N`'),
  process: name('process', 'Process the thread runs in (default: the thread name)').optional(),
  steps: z.array(step).min(1).describe('Operations, run one per scheduling turn'),
});

const pageMessage = msg((v) => `bad page ${describeValue(v)}: expected FILE@OFFSET (like F@8K) or DEVICE:PFN (like pmem0:0x200)`);

const expectEntry = obj('expect entry', {
  after: z.string()
    .regex(AFTER_RE, { error: msg((v) => `bad 'after' value ${describeValue(v)}: expected THREAD.N, like app.3`) })
    .describe('Check after step N (1-based) of THREAD').transform(parsed(parseAfter)).optional(),
  at: z.literal('end').describe('Check when the scenario has run to the end').optional(),
  kernel: kernelName('Only check on this kernel, e.g. v6.15').optional(),
  with: z.array(z.string()).describe('Fixes added to the kernel for this check (a backport): it applies to that kernel plus exactly these').optional(),
  without: z.array(z.string()).describe('Fixes taken out of the kernel for this check (a revert): it applies to that kernel minus exactly these').optional(),
  page: z.string({ error: pageMessage })
    .regex(new RegExp(`${FILE_PAGE_RE.source}|${DEVICE_PAGE_RE.source}`), { error: pageMessage })
    .describe('Page to check: FILE@OFFSET or DEVICE:PFN').transform(parsed(parsePageRef)).optional(),
  refcount: count('Expected page refcount').optional(),
  mapcount: count('Expected page mapcount').optional(),
  pincount: count('Expected page pincount').optional(),
  order: count('Expected folio order').optional(),
  entire_mapcount: count('Expected folio entire (PMD) mapcount').optional(),
  share: count('Expected fsdax page share count').optional(),
  mapping: z.string().nullable().describe('Expected page->mapping: a file name, or null').optional(),
  holders: count('Expected number of holders of the page').optional(),
  error: z.string()
    .regex(/^(none|E[A-Z0-9]+|SIG[A-Z0-9]+)$/, {
      error: msg((v) => `bad error ${describeValue(v)}: expected an errno or signal like EINVAL or SIGBUS, or none`),
    })
    .describe('Error the step returned: an errno (EINVAL), a signal (SIGBUS), or none').optional(),
  violation: z.string().min(1).describe('Invariant violation id, or none').optional(),
  blocked: z.boolean().describe('Whether step N of the thread named by `after` had to wait (blocked or slept) at least once before it completed; the other checks of the entry are read when it completes').optional(),
});

function scenario(step: z.ZodType) {
  return obj(null, {
    $schema: z.string().describe('JSON Schema reference, ignored').optional(),
    name: z.string().min(1).describe('Scenario title'),
    description: z.string().describe('What the scenario shows').optional(),
    kernel: kernelName('Kernel model to run by default, e.g. v6.15 (the command line overrides it)').optional(),
    devices: z.array(device).min(1).describe('Simulated pmem devices'),
    files: z.array(file).default([]).describe('Files on fsdax devices'),
    threads: z.array(thread(step)).min(1).describe('Threads and the operations they run'),
    schedule: z
      .array(
        z.string().regex(SCHEDULE_RE, {
          error: msg((v) => `bad schedule entry ${describeValue(v)}: expected THREAD (its next operation), THREAD:N (its next N atomic steps) or THREAD@FUNCTION (until it has run a step of that kernel function)`),
        }),
      )
      .describe('Interleaving: THREAD runs that thread\'s next operation until it completes or blocks; THREAD:N runs only its next N atomic kernel steps, THREAD@FUNCTION runs it until it has run an atomic step of that kernel function, as named in the trace (both preempt it mid-operation)')
      .optional(),
    expect: z.array(expectEntry).default([]).describe('Expected outcomes'),
  });
}

/** Validates a document; output has steps as RawStep. */
export const scenarioSchema = scenario(validatingStep);
export type RawScenario = Omit<z.output<typeof scenarioSchema>, 'threads'> & {
  threads: { name: string; process?: string; steps: RawStep[] }[];
};
export type RawExpect = z.output<typeof expectEntry>;

/** The schema published as JSON Schema (steps spelled out per operation). */
export const jsonSchemaSource = scenario(jsonStep).meta({
  title: 'daxref scenario',
  description: 'A daxref scenario: devices, files, threads of operations, a schedule and expected outcomes.',
});

