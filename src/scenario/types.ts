// Typed form of a scenario file: what parseScenario() returns.
// Sizes and offsets are plain byte counts; every object keeps the source
// position of the YAML node it came from, so later stages can report
// "file:line:col: message" errors too.

/** 1-based line and column of a YAML node. */
export interface SourcePos { file: string; line: number; col: number }

/** Bytes. */
export type Size = number;

/** `region` or `region+OFFSET`: a virtual address inside an mmap'ed region. */
export interface Address { region: string; offset: Size }

/** `F@8K` (file and byte offset) or `pmem1:0x200` (device and pfn index). */
export type PageRef =
  | { kind: 'file'; file: string; offset: Size }
  | { kind: 'device'; device: string; pfn: number };

export const OP_NAMES = [
  'mmap', 'munmap', 'madvise', 'touch', 'gup', 'unpin', 'dma_write', 'fork', 'exit',
  'truncate', 'punch_hole', 'unlink', 'unmount', 'reflink', 'write', 'fsync',
  'remove_device', 'page_alloc', 'page_get', 'page_put',
] as const;
export type OpName = (typeof OP_NAMES)[number];

export interface StepBase { op: OpName; pos: SourcePos; label?: string }

/** Map a file (fsdax) or a whole devdax device. `len` is rounded up to 4K as the kernel does. */
export interface MmapStep extends StepBase {
  op: 'mmap'; file?: string; device?: string;
  len: Size; offset: Size; shared: boolean; sync: boolean; as: string; addr?: Size;
}
/** `len` is rounded up to 4K as the kernel does. */
export interface MunmapStep extends StepBase { op: 'munmap'; at: Address; len: Size }
/** madvise(MADV_DONTNEED) of a range (the only advice modelled). `len` is rounded up to 4K as the kernel does. */
export interface MadviseStep extends StepBase { op: 'madvise'; at: Address; len: Size; advice: 'dontneed' }
/** Fault in every page overlapping [at, at+len). */
export interface TouchStep extends StepBase { op: 'touch'; at: Address; write: boolean; len: Size }
/** get_user_pages: pin=false is FOLL_GET, pin=true is FOLL_PIN. */
export interface GupStep extends StepBase {
  op: 'gup'; at: Address; len: Size; pin: boolean; longterm: boolean; fast: boolean; write: boolean; as: string;
}
export interface UnpinStep extends StepBase { op: 'unpin'; ref: string }
export interface DmaWriteStep extends StepBase { op: 'dma_write'; ref: string }
export interface ForkStep extends StepBase { op: 'fork'; child: string }
export interface ExitStep extends StepBase { op: 'exit' }
export interface TruncateStep extends StepBase { op: 'truncate'; file: string; size: Size }
export interface PunchHoleStep extends StepBase { op: 'punch_hole'; file: string; offset: Size; len: Size }
export interface UnlinkStep extends StepBase { op: 'unlink'; file: string }
export interface UnmountStep extends StepBase { op: 'unmount'; device: string }
/** `dst_offset` defaults to `offset`. */
export interface ReflinkStep extends StepBase {
  op: 'reflink'; src: string; dst: string; offset: Size; len: Size; dst_offset: Size;
}
export interface WriteStep extends StepBase { op: 'write'; file: string; offset: Size; len: Size }
/** Whole file unless `offset`/`len` narrow it (msync-like). */
export interface FsyncStep extends StepBase { op: 'fsync'; file: string; offset?: Size; len?: Size }
export interface RemoveDeviceStep extends StepBase { op: 'remove_device'; device: string }
/** A driver allocates a page of a private/coherent device (zone_device_page_init). */
export interface PageAllocStep extends StepBase { op: 'page_alloc'; page: PageRef }
/** A driver takes (folio_get) or drops (put_page) a reference on a device page. */
export interface PageGetStep extends StepBase { op: 'page_get'; page: PageRef }
export interface PagePutStep extends StepBase { op: 'page_put'; page: PageRef }

export type Step =
  | MmapStep | MunmapStep | MadviseStep | TouchStep | GupStep | UnpinStep | DmaWriteStep | ForkStep | ExitStep
  | TruncateStep | PunchHoleStep | UnlinkStep | UnmountStep | ReflinkStep | WriteStep | FsyncStep
  | RemoveDeviceStep | PageAllocStep | PageGetStep | PagePutStep;

/** The step type for one operation name. */
export type StepOf<K extends OpName> = Extract<Step, { op: K }>;

/** fsdax/devdax: the DAX pgmaps (FS_DAX, GENERIC); private, coherent, p2pdma: the other ZONE_DEVICE pgmap types. */
export const DEVICE_KINDS = ['fsdax', 'devdax', 'private', 'coherent', 'p2pdma'] as const;
export type DeviceKind = (typeof DEVICE_KINDS)[number];

export interface Device {
  name: string; type: DeviceKind; size: Size; pos: SourcePos;
  /** devdax only: 4K, 2M or 1G; the parser fills in the default 2M. */
  align?: Size;
  /** fsdax only; the parser fills in the default xfs. */
  fs?: 'xfs' | 'ext4';
}

export interface FileSpec {
  name: string; device: string; size: Size; pos: SourcePos;
  /** Alignment of the file's extent start on the device (so folio size follows it). */
  align?: Size;
}

export interface ThreadSpec {
  name: string;
  /** Defaults to the thread's name. */
  process: string;
  steps: Step[];
  pos: SourcePos;
}

/** `steps`: run only that many atomic steps of the thread (THREAD:N); absent: its next whole operation. */
/** THREAD (its next operation), THREAD:N (`steps`) or THREAD@FUNCTION (`until`). */
export interface ScheduleEntry { thread: string; steps?: number; until?: string; pos: SourcePos }

export const PAGE_CHECKS = [
  'refcount', 'mapcount', 'pincount', 'order', 'entire_mapcount', 'share', 'mapping', 'holders',
] as const;
export type PageCheck = (typeof PAGE_CHECKS)[number];

/** Fields of an expect entry as written in YAML (for `fieldPos`). */
export type ExpectField =
  | 'after' | 'at' | 'kernel' | 'with' | 'without' | 'page' | PageCheck | 'error' | 'violation' | 'blocked';

export interface Expect {
  /** `after: app.3` (step is 1-based, as written) or `at: end`. */
  point: { kind: 'after'; thread: string; step: number } | { kind: 'end' };
  /** Only checked when running this kernel. */
  kernel?: string;
  /** Fixes added to `kernel` for this check (a backport); checked against the known fixes by checkScenario. */
  with?: string[];
  /** Fixes taken out of `kernel` for this check (a revert). */
  without?: string[];
  page?: PageRef;
  refcount?: number;
  mapcount?: number;
  pincount?: number;
  order?: number;
  entire_mapcount?: number;
  share?: number;
  /** File name, or null for "no mapping". */
  mapping?: string | null;
  holders?: number;
  /** Errno or signal name (EINVAL, SIGBUS, ...) or 'none'. */
  error?: string;
  /** Violation id or 'none'. */
  violation?: string;
  /** The thread named by `after` is blocked at that point. */
  blocked?: boolean;
  pos: SourcePos;
  /** Position of each field present in the YAML. */
  fieldPos: Partial<Record<ExpectField, SourcePos>>;
}

export interface Scenario {
  name: string;
  description?: string;
  kernel?: string;
  kernelPos?: SourcePos;
  /** File name the scenario was read from (as given to parseScenario). */
  source: string;
  devices: Device[];
  files: FileSpec[];
  threads: ThreadSpec[];
  schedule?: ScheduleEntry[];
  expect: Expect[];
}
