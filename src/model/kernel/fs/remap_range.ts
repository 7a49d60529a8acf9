// fs/remap_range.c: the checks FICLONERANGE makes before it shares a block
// (__generic_remap_file_range_prep, reached on DAX files through
// dax_remap_file_range_prep). On xfs they run after xfs_ilock2_io_mmap has
// locked both inodes and broken their DAX layouts, so a rejected clone still
// waits for DMA and unmaps the files; it just shares and frees nothing.
// The model's filesystems use 4 KiB blocks.
import type { Kernel } from '../../kernel.js';
import { F_ISIZE } from '../../state.js';
import { EINVAL } from '../../errno.js';

const BS = 4096;
const aligned = (x: number) => x % BS === 0;

/**
 * generic_remap_checks + generic_remap_check_len for a clone (remap_flags 0:
 * no REMAP_FILE_CAN_SHORTEN): 0, or the errno the ioctl returns. `len` is
 * positive (the scenario checker refuses the clone-to-EOF form, len 0).
 */
export function generic_remap_checks(k: Kernel, src: number, posIn: number, dst: number, posOut: number, len: number): number {
  // the start of both ranges must be block-aligned
  if (!aligned(posIn) || !aligned(posOut)) return EINVAL;
  const sizeIn = k.m[k.L.files[src].off + F_ISIZE];
  // the source range starts inside the source file; a request past its EOF would be shortened,
  // which a clone may not be
  if (posIn >= sizeIn) return EINVAL;
  let count = Math.min(len, sizeIn - posIn);
  let bcount: number;
  if (posIn + count === sizeIn) bcount = Math.ceil(sizeIn / BS) * BS - posIn; // up to the source's EOF: its partial block goes too
  else {
    if (!aligned(count)) count -= count % BS;
    bcount = count;
  }
  // no overlapping clone within one file
  if (src === dst && posOut + bcount > posIn && posOut < posIn + bcount) return EINVAL;
  if (count !== len) return EINVAL;
  // generic_remap_check_len: a partial EOF block may only land at or past the destination's EOF
  if (!aligned(len) && posOut + len < k.m[k.L.files[dst].off + F_ISIZE]) return EINVAL;
  return 0;
}
