// A private ioctl that tells the tree about an mmap() before it happens. FUSE
// sends nothing at mmap(), so the file's own mmap method (p2pmem_alloc_mmap,
// pci_mmap_resource, …) cannot refuse a mapping or allocate for it; under
// `p2pemu run` the seccomp supervisor sees the call, issues this ioctl on the
// caller's own open file (the same open file description, so the same FUSE
// handle) and fails the mmap() with the errno the ioctl returns. Root only.

import { kernelError } from '../errno.js';
import type { IoctlRequest } from '../fs-types.js';

// _IOW('p', 0xe0, struct p2pemu_mmap_intent): 40 bytes in, nothing out
export const MMAP_INTENT_SIZE = 40;
export const P2PEMU_IOC_MMAP_INTENT = ((1 << 30) | (MMAP_INTENT_SIZE << 16) | (0x70 << 8) | 0xe0) >>> 0;

// include/uapi/asm-generic/mman-common.h
export const PROT_WRITE = 0x2;
export const MAP_SHARED = 0x01;
export const MAP_PRIVATE = 0x02;
export const MAP_TYPE = 0x0f;

/** The mapping an mmap() call asks for, as the file's mmap method would see its VMA. */
export interface MmapIntent {
  /** page-aligned length */
  len: number;
  pgoff: number;
  prot: number;
  flags: number;
  /** where the mapping goes when the caller said (MAP_FIXED or a hint); undefined: the kernel chooses */
  addr: number | undefined;
  /** the mapping process (its comm goes into the kernel's log lines) */
  pid: number;
}

export function encodeMmapIntent(i: MmapIntent): Buffer {
  const b = Buffer.alloc(MMAP_INTENT_SIZE);
  b.writeBigUInt64LE(BigInt(i.len), 0);
  b.writeBigUInt64LE(BigInt(i.pgoff), 8);
  b.writeBigUInt64LE(BigInt(i.addr ?? 0), 16);
  b.writeUInt32LE(i.flags >>> 0, 24);
  b.writeUInt32LE(i.prot >>> 0, 28);
  b.writeUInt32LE(i.pid, 32);
  b.writeUInt32LE(i.addr === undefined ? 0 : 1, 36);
  return b;
}

export function decodeMmapIntent(req: IoctlRequest): MmapIntent {
  const b = req.input;
  if (b.length < MMAP_INTENT_SIZE) throw kernelError('EINVAL', 'short mmap intent');
  return {
    len: Number(b.readBigUInt64LE(0)),
    pgoff: Number(b.readBigUInt64LE(8)),
    addr: b.readUInt32LE(36) ? Number(b.readBigUInt64LE(16)) : undefined,
    flags: b.readUInt32LE(24),
    prot: b.readUInt32LE(28),
    pid: b.readUInt32LE(32),
  };
}

/** VM_MAYSHARE: MAP_SHARED and MAP_SHARED_VALIDATE */
export const isSharedMapping = (i: MmapIntent): boolean => (i.flags & MAP_TYPE) !== MAP_PRIVATE;
