// Zeroing a range of a backing file without writing zeros: fallocate(2) with
// PUNCH_HOLE (Node has no fallocate; koffi calls libc's). The file stays sparse.

import koffi from 'koffi';

const FALLOC_FL_KEEP_SIZE = 1;
const FALLOC_FL_PUNCH_HOLE = 2;

let fallocate: ((fd: number, mode: number, offset: number, len: number) => number) | undefined;

/** Bytes [offset, offset+len) of fd read as zeros afterwards; the file size does not change. */
export function punchHole(fd: number, offset: number, len: number): void {
  fallocate ??= koffi.load('libc.so.6').func('int fallocate(int fd, int mode, int64_t offset, int64_t len)');
  if (fallocate!(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, offset, len) !== 0) throw new Error(`fallocate(PUNCH_HOLE) on fd ${fd} failed`);
}
