// Errors a step can end with: errnos as the syscall returns them, and the
// signals a page fault delivers. Numbers are Linux x86-64 values.
export const ERRNO: Record<string, number> = {
  EPERM: 1,
  ENOENT: 2,
  EINTR: 4,
  ENXIO: 6,
  ENOMEM: 12,
  EFAULT: 14,
  EBUSY: 16,
  EXDEV: 18,
  ENODEV: 19,
  EINVAL: 22,
  ENOSPC: 28,
  EOPNOTSUPP: 95,
  EREMOTEIO: 121,
  ERESTARTSYS: 512,
  SIGBUS: 1007,
  SIGSEGV: 1011,
};
export const { EFAULT, EBUSY, EXDEV, EINVAL, ENOSPC, EOPNOTSUPP, SIGBUS, SIGSEGV, ENXIO, ENOMEM, ENOENT, ENODEV, EREMOTEIO } = ERRNO;
export function errnoName(n: number): string {
  if (n === 0) return 'none';
  for (const [k, v] of Object.entries(ERRNO)) if (v === n) return k;
  return `E${n}`;
}
