// One error type for decisions a kernel reports as an errno. Numbers are the
// Linux x86_64 values from include/uapi/asm-generic/errno*.h (Node 20's
// os.constants.errno lacks some, e.g. EREMOTEIO).

export const ERRNO = {
  EPERM: 1,
  ENOENT: 2,
  EINTR: 4,
  EIO: 5,
  ENXIO: 6,
  E2BIG: 7,
  EBADF: 9,
  EAGAIN: 11,
  ENOMEM: 12,
  EACCES: 13,
  EFAULT: 14,
  EBUSY: 16,
  EEXIST: 17,
  ENODEV: 19,
  ENOTDIR: 20,
  EISDIR: 21,
  EINVAL: 22,
  EFBIG: 27,
  ENOSPC: 28,
  ESPIPE: 29,
  EROFS: 30,
  EPIPE: 32,
  ERANGE: 34,
  ENOSYS: 38,
  ENOTEMPTY: 39,
  ENODATA: 61,
  EPROTO: 71,
  ELOOP: 40,
  ENOTTY: 25,
  EOPNOTSUPP: 95,
  ENOTCONN: 107,
  EREMOTEIO: 121,
} as const;

export type ErrnoCode = keyof typeof ERRNO;

export class KernelError extends Error {
  readonly code: ErrnoCode;
  readonly errno: number;

  constructor(code: ErrnoCode, message: string) {
    super(`${code}: ${message}`);
    this.name = 'KernelError';
    this.code = code;
    this.errno = ERRNO[code];
  }
}

export function kernelError(code: ErrnoCode, message: string): KernelError {
  return new KernelError(code, message);
}

/** errno of any thrown value: KernelError keeps its own, Node system errors map by code, the rest is EIO. */
export function errnoOf(err: unknown): number {
  if (err instanceof KernelError) return err.errno;
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string' && code in ERRNO) return ERRNO[code as ErrnoCode];
  return ERRNO.EIO;
}
