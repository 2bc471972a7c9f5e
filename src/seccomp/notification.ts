// struct seccomp_notif and struct seccomp_notif_resp (include/uapi/linux/seccomp.h),
// decoded and encoded at fixed offsets.

/** One intercepted system call: which task, which call, its six argument registers. */
export interface Notification {
  id: bigint;
  /** the calling thread's id (in the supervisor's pid namespace) */
  pid: number;
  nr: number;
  arch: number;
  args: bigint[];
}

/** How the supervisor answers: let the call run as it is, fail it, or return a value for it. */
export type Answer = { continue: true } | { error: number } | { value: number };

export const CONTINUE: Answer = { continue: true };

const SECCOMP_USER_NOTIF_FLAG_CONTINUE = 1;

export function decodeNotification(b: Buffer): Notification {
  // id u64 @0, pid u32 @8, flags u32 @12, data: nr i32 @16, arch u32 @20, ip u64 @24, args u64[6] @32
  const args: bigint[] = [];
  for (let i = 0; i < 6; i++) args.push(b.readBigUInt64LE(32 + 8 * i));
  return { id: b.readBigUInt64LE(0), pid: b.readUInt32LE(8), nr: b.readInt32LE(16), arch: b.readUInt32LE(20), args };
}

export function encodeAnswer(id: bigint, answer: Answer, out: Buffer): Buffer {
  // id u64 @0, val s64 @8, error s32 @16 (a negative errno), flags u32 @20
  out.fill(0);
  out.writeBigUInt64LE(id, 0);
  if ('continue' in answer) out.writeUInt32LE(SECCOMP_USER_NOTIF_FLAG_CONTINUE, 20);
  else if ('error' in answer) out.writeInt32LE(-answer.error, 16);
  else out.writeBigInt64LE(BigInt(answer.value), 8);
  return out;
}

/** An argument register as the C int the kernel reads from it (an fd, a dirfd). */
export const asInt = (reg: bigint): number => Number(BigInt.asIntN(32, reg));
