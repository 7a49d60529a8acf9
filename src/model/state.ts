// The model's state: one flat Int32Array laid out by a static Layout.
//
// Everything that can change during a run lives in `m`, so a state is copied
// with one slice(), hashed over one array and compared word by word: the
// checker visits millions of them. The Layout (sizes and offsets, computed
// once from the scenario) never changes during a run.

export const PAGE_SIZE = 4096;
export const PMD_ORDER = 9; // x86-64: 2 MiB
export const PUD_ORDER = 18; // x86-64: 1 GiB
export const PMD_NR = 1 << PMD_ORDER;
export const PUD_NR = 1 << PUD_ORDER;
export const GUP_PIN_COUNTING_BIAS = 1024; // include/linux/mm.h

/** The pages a byte range [offset, offset + len) touches (at least one): the first, and how many. */
export function pageSpan(offset: number, len: number): { first: number; n: number } {
  const first = Math.floor(offset / PAGE_SIZE);
  return { first, n: Math.max(1, Math.floor((offset + Math.max(1, len) - 1) / PAGE_SIZE) - first + 1) };
}

// ---- struct page / struct folio (one record per page the scenario can reach) ----
export const R_REF = 0; // _refcount (of the head: folio_ref_count)
export const R_MAP = 1; // this page's PTE mapcount (_mapcount + 1)
export const R_ENTIRE = 2; // head: _entire_mapcount + 1 (PMD/PUD mappings)
export const R_LARGE = 3; // head: _large_mapcount + 1 (folio_mapcount of a large folio)
export const R_PIN = 4; // head: _pincount (large folios only)
export const R_ORDER = 5; // head: folio order
export const R_HEAD = 6; // record index of compound_head (itself for a head or order-0 page)
export const R_MAPPING = 7; // 0 = NULL, f+1 = file f's address_space, MAPPING_DAX_SHARED (old scheme)
export const R_INDEX = 8; // page->index, or page->share: a union in the kernel, one word here too
export const R_USERS = 9; // FS-DAX: the filesystem's count of file extents owning this block (0 = free); private/coherent/p2pdma: 1 = allocated by the driver
export const R_GEN = 10; // FS-DAX: allocation generation of the block (a reuse changes it)
export const R_DRV = 11; // references held outside the mm: a driver's allocation/get refs, old-scheme P2PDMA's init ref
export const REC_WORDS = 12;
/** Pages of a private/coherent/p2pdma device that get page records (the scenario checker keeps named pfns below it). */
export const DRIVER_PAGES = 512;
export const MAPPING_DAX_SHARED = -1; // PAGE_MAPPING_DAX_SHARED (old scheme only)

// ---- DAX xarray entries (fs/dax.c value entries), one word per file index ----
export const X_LOCKED = 1; // DAX_LOCKED
export const X_PMD = 2; // DAX_PMD
export const X_ZERO = 4; // DAX_ZERO_PAGE
export const X_EMPTY = 8; // DAX_EMPTY
export const X_DIRTY = 16; // PAGECACHE_TAG_DIRTY
export const X_TOWRITE = 32; // PAGECACHE_TAG_TOWRITE
export const X_PFN_SHIFT = 8; // entry value: (record + 1) << X_PFN_SHIFT | flags; 0 = no entry

// ---- page-table entries (PTE, PMD, PUD): one word each, 0 = none ----
export const E_PRESENT = 1;
export const E_WRITE = 2;
export const E_DIRTY = 4;
export const E_YOUNG = 8;
export const E_SPECIAL = 16;
export const E_DEVMAP = 32;
export const E_ZERO = 64; // maps the (huge) zero page
export const E_ANON = 128; // maps a private anonymous copy (CoW of a private mapping)
export const E_TABLE = 256; // PMD only: a PTE table hangs here (not a leaf)
export const E_PFN_SHIFT = 10; // leaf entries: (record + 1) << E_PFN_SHIFT | bits

// ---- per-file fields ----
export const F_NLINK = 0;
export const F_ISIZE = 1; // bytes
export const F_EVICTED = 2;
export const F_NRPAGES = 3; // mapping->nrpages
export const F_MAPPED = 4; // VMAs mapping the file (mapping_mapped(), and inode references)
export const F_INVAL_R = 5; // invalidate lock (XFS MMAPLOCK / ext4 invalidate_lock): readers
export const F_INVAL_W = 6; //   exclusive holder: thread + 1
export const F_IRWSEM_R = 7; // i_rwsem (XFS IOLOCK): readers
export const F_IRWSEM_W = 8; //   exclusive holder: thread + 1
export const F_DIRTY_INODE = 9; // I_DIRTY_PAGES
export const F_META_DIRTY = 10; // metadata changed and not yet forced to the log (XFS: inode pinned; gives IOMAP_F_DIRTY)
export const FILE_WORDS = 11;

// ---- per-device fields ----
export const D_PGMAP_LIVE = 0; // percpu_ref still alive (not killed)
export const D_PGMAP_REF = 1; // transient get_dev_pagemap() holders
export const D_ALIVE = 2; // dax_alive(): the dax device is not being removed
export const D_MOUNTED = 3; // FS-DAX: the filesystem is mounted
export const D_PGMAP_PAGES = 4; // pgmap references held by allocated pages (PRIVATE/COHERENT: zone_device_page_init; P2PDMA: p2pmem_alloc_mmap)
export const DEV_WORDS = 5;

// ---- per-process fields ----
export const P_ALIVE = 0;
export const P_RSS_FILE = 1; // MM_FILEPAGES
export const P_RSS_ANON = 2; // MM_ANONPAGES
export const P_MMAP_R = 3; // mmap_lock readers
export const P_MMAP_W = 4; // mmap_lock writer: thread + 1
export const PROC_WORDS = 5;

// ---- per-VMA slot (a region as seen by one process) ----
export const V_PRESENT = 0;
export const V_ANON_VMA = 1;
export const VMA_HDR_WORDS = 2;

// ---- per-thread fields ----
export const T_STATUS = 0;
export const T_OP = 1; // index of the current operation in the thread's steps
export const T_PC = 2; // label within the operation's program
export const T_KEY = 3; // wait key while sleeping
export const T_ERR = 4; // errno of the last finished operation (0 = none)
export const T_TEMPREF = 5; // record + 1 of a folio this thread holds a transient reference on (fault path)
export const T_QPOS = 6; // while sleeping on a DAX entry: exclusive waiters queued ahead of it (0 = the head)
export const T_L0 = 7; // locals of the running program
export const THREAD_LOCALS = 8;
export const THREAD_WORDS = T_L0 + THREAD_LOCALS;

/** Is the thread at `off` inside an operation (past its first action: in a system call or fault), in state m? */
export const inOperation = (m: ArrayLike<number>, off: number): boolean => m[off + T_STATUS] !== S_DONE && m[off + T_PC] !== 0;

export const S_RUNNABLE = 0;
export const S_SLEEPING = 1; // in wait_var_event / an entry wait: only a wake on T_KEY makes it runnable
export const S_DONE = 2;

// ---- GUP references (one slot per `gup ... as: NAME`) ----
export const G_STATE = 0; // G_NONE / G_HELD / G_RELEASED / G_FAILED
export const G_N = 1; // pages grabbed
export const G_FLAGS = 2; // G_PIN | G_LONGTERM
export const G_PAGES = 3; // then per page: record + 1, block generation at grab time
export const G_NONE = 0;
export const G_HELD = 1;
export const G_RELEASED = 2;
export const G_FAILED = 3;
export const G_GRABBING = 4; // GUP in progress: pages grabbed so far are held, the reference is not usable yet
export const G_PIN = 1;
export const G_LONGTERM = 2;

// ---- globals ----
// folio->mapping of the zero page and of the huge zero folio (0 = NULL, f+1 = file f): only a
// new-scheme kernel without "don't disassociate zero page entries" ever sets them
export const GL_ZERO_MAPPING = 0;
export const GL_HUGE_ZERO_MAPPING = 1;
export const GLOBAL_WORDS = 2;

export type DeviceType = 'fsdax' | 'devdax' | 'private' | 'coherent' | 'p2pdma';
export type PgmapType =
  | 'MEMORY_DEVICE_FS_DAX' | 'MEMORY_DEVICE_GENERIC' | 'MEMORY_DEVICE_PRIVATE' | 'MEMORY_DEVICE_COHERENT' | 'MEMORY_DEVICE_PCI_P2PDMA';
/** include/linux/memremap.h: enum memory_type, by scenario device type. */
export const PGMAP_TYPE: Record<DeviceType, PgmapType> = {
  fsdax: 'MEMORY_DEVICE_FS_DAX',
  devdax: 'MEMORY_DEVICE_GENERIC',
  private: 'MEMORY_DEVICE_PRIVATE',
  coherent: 'MEMORY_DEVICE_COHERENT',
  p2pdma: 'MEMORY_DEVICE_PCI_P2PDMA',
};

export interface DeviceInfo {
  id: number;
  name: string;
  type: DeviceType;
  pgmap: PgmapType;
  fs: 'xfs' | 'ext4';
  pages: number; // device size in pages
  alignPages: number; // devdax alignment (pages); 1 for fsdax
  recBase: number; // first record of this device
  nrecs: number; // records: one per page (fsdax) or per alignment unit (devdax)
  off: number; // offset of the device fields
  firstDataBlock: number; // allocator: first block a file may get (filesystem metadata before it)
}

export interface FileInfo {
  id: number;
  name: string;
  device: number;
  initialSize: number; // bytes
  alignPages: number; // requested placement of the first extent
  maxPages: number; // largest page index + 1 the scenario can reach
  off: number; // file fields
  extOff: number; // maxPages words: record + 1 of the block at each file page, 0 = hole
  xaOff: number; // maxPages words: DAX xarray entry at each index
}

export interface RegionInfo {
  id: number;
  name: string;
  kind: 'file' | 'device';
  target: number; // file id or device id
  pgoff: number; // mmap offset in pages
  npages: number;
  shared: boolean;
  sync: boolean;
  base: number; // virtual address (bytes), 1 GiB aligned
  unitPages: number; // granule of VMA coverage (1, or the device-DAX alignment)
  hasPte: boolean;
  hasPmd: boolean;
  hasPud: boolean;
}

export interface VmaInfo {
  id: number;
  process: number;
  region: number;
  off: number; // VMA header
  coverOff: number; // one word per coverage unit: 1 = inside the VMA
  pteOff: number; // region.npages words (if hasPte)
  pmdOff: number; // one word per 2 MiB of the region
  pudOff: number; // one word per 1 GiB of the region
}

export interface ProcessInfo {
  id: number;
  name: string;
  initiallyAlive: boolean;
  off: number;
  vmas: number[]; // region id -> vma id, or -1
}

export interface RefInfo {
  id: number;
  name: string;
  maxPages: number;
  off: number;
}

/** Per region: whether its mmap has happened (a step naming it waits until then). */
export const RG_NONE = 0;
export const RG_MADE = 1;
export const RG_FAILED = 2;

export interface ThreadInfo {
  id: number;
  name: string;
  process: number;
  off: number;
  /** opFiles[i]: the files operation i holds open (an fd or a path reference) while it runs, by id. */
  opFiles: number[][];
  /**
   * opFault[i]: for a `touch`, the region its page faults map and the pcs strictly between which
   * the thread is inside one fault (set when the programs are built); null otherwise.
   */
  opFault: ({ region: number; lo: number; hi: number } | null)[];
}

export interface Layout {
  devices: DeviceInfo[];
  files: FileInfo[];
  regions: RegionInfo[];
  vmas: VmaInfo[];
  processes: ProcessInfo[];
  refs: RefInfo[];
  threads: ThreadInfo[];
  regionStateOff: number; // one word per region: RG_*
  recOff: number;
  nrecs: number;
  recDevice: Int32Array; // record -> device id
  recPfn: Float64Array; // record -> device page frame (pfn within the device)
  globalOff: number; // GLOBAL_WORDS words: GL_*
  words: number;
}

/** One state of the model. `m` is all of it; the layout is shared and constant. */
export class State {
  constructor(
    readonly L: Layout,
    readonly m: Int32Array,
  ) {}
  static empty(L: Layout): State {
    return new State(L, new Int32Array(L.words));
  }
  clone(): State {
    return new State(this.L, this.m.slice());
  }
}

export const rec = (L: Layout, r: number) => L.recOff + r * REC_WORDS;

/** Entry word helpers shared by page tables and the xarray. */
export const leafRec = (e: number) => (e >>> E_PFN_SHIFT) - 1;
export const mkLeaf = (r: number, bits: number) => ((r + 1) << E_PFN_SHIFT) | bits;
export const xaRec = (x: number) => (x >>> X_PFN_SHIFT) - 1;
export const mkXa = (r: number, flags: number) => ((r + 1) << X_PFN_SHIFT) | flags;
