// A process's state as /proc shows it (a caller's syscall, buffer, maps and
// memory; who a process is; who uses a mount): the only place that reads /proc/PID/*.
export { CallerMemory, callerMemory, parseSyscall, type FileMapping, type SyscallState, type Vma } from './caller-memory.js';
export { rangesOfCall, RUNNING_WAIT_MS, sliceRanges, type CallSource, type UserRange } from './user-buffer.js';
export { SubmittedIo, type DirectIo, type SubmissionSource, type SubmittedBuffer } from './submitted-io.js';
export { TaskFiles } from './task-files.js';
export { SYSCALLS_ARE_X86_64, X86_64_OPEN_CALLS, X86_64_READ_CALLS, X86_64_RW_CALLS, X86_64_SYSCALLS, type X86_64RwCall } from './x86-64-syscalls.js';
export { copyToUser, userRangeWritable } from './copy-to-user.js';
export { formatMountUsers, mountUsers, type MountUser } from './mount-users.js';
export { AT_FDCWD, fdFlags, fdLink, fdTarget, pathAt, readCString, writeCaller } from './caller-files.js';
export { readProcess, writeProcess, writeProcessAsync } from './process-vm.js';
