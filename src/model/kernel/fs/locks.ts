// Sleeping locks as guards: an rwsem acquisition is enabled only when the lock
// is free for it (a sleeping waiter is woken by the release; no wake-up can be
// lost there, so a guard is exact). Used for i_rwsem (XFS IOLOCK), the
// invalidate lock (XFS MMAPLOCK, ext4 invalidate_lock) and mmap_lock.
import type { Kernel } from '../../kernel.js';
import { F_INVAL_R, F_INVAL_W, F_IRWSEM_R, F_IRWSEM_W, P_MMAP_R, P_MMAP_W } from '../../state.js';

function downRead(k: Kernel, o: number, R: number, W: number): boolean {
  if (k.m[o + W]) return false;
  k.add(o + R, 1);
  return true;
}
function downWrite(k: Kernel, o: number, R: number, W: number, t: number): boolean {
  if (k.m[o + W] || k.m[o + R]) return false;
  k.set(o + W, t + 1);
  return true;
}

const fo = (k: Kernel, f: number) => k.L.files[f].off;
const po = (k: Kernel, p: number) => k.L.processes[p].off;

/** filemap_invalidate_lock_shared / xfs_ilock(XFS_MMAPLOCK_SHARED). */
export const invalidate_lock_shared = (k: Kernel, f: number) => downRead(k, fo(k, f), F_INVAL_R, F_INVAL_W);
export const invalidate_unlock_shared = (k: Kernel, f: number) => void k.add(fo(k, f) + F_INVAL_R, -1);
/** filemap_invalidate_lock / xfs_ilock(XFS_MMAPLOCK_EXCL). */
export const invalidate_lock = (k: Kernel, f: number, t: number) => downWrite(k, fo(k, f), F_INVAL_R, F_INVAL_W, t);
export const invalidate_unlock = (k: Kernel, f: number) => void (k.set(fo(k, f) + F_INVAL_W, 0));
/** inode_lock / xfs_ilock(XFS_IOLOCK_EXCL). */
export const inode_lock = (k: Kernel, f: number, t: number) => downWrite(k, fo(k, f), F_IRWSEM_R, F_IRWSEM_W, t);
export const inode_unlock = (k: Kernel, f: number) => void (k.set(fo(k, f) + F_IRWSEM_W, 0));
/** mmap_read_lock / mmap_write_lock (include/linux/mmap_lock.h). */
export const mmap_read_lock = (k: Kernel, p: number) => downRead(k, po(k, p), P_MMAP_R, P_MMAP_W);
export const mmap_read_unlock = (k: Kernel, p: number) => void k.add(po(k, p) + P_MMAP_R, -1);
export const mmap_write_lock = (k: Kernel, p: number, t: number) => downWrite(k, po(k, p), P_MMAP_R, P_MMAP_W, t);
export const mmap_write_unlock = (k: Kernel, p: number) => void (k.set(po(k, p) + P_MMAP_W, 0));
