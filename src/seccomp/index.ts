// The seccomp supervisor of `p2pemu run`: a filter for the command's process and
// the thread that answers what FUSE never sees (native-notes/run.md).
export { buildFilter, SYS } from './filter.js';
export { installListenerFilter, pidfdGetfd, pidfdOpen, closeFd } from './native.js';
export { DEV_NODES } from './device-nodes.js';
export type { SupervisorOptions } from './supervisor.js';
export const SUPERVISOR_WORKER = new URL('./worker.js', import.meta.url);
