// What the tree needs from the mount it is served on. The daemon connects it
// once mounted (the FUSE session behind it); before that no kernel caches
// anything and no process maps a file, so every call does nothing.

export interface MountPort {
  /** the mount's device as /proc/PID/maps prints it ("00:2a"); undefined before mounting */
  readonly device: string | undefined;
  /** the kernel forgets a cached name (a node appeared or went); resolves once it has (never rejects) */
  invalidateEntry(parent: number, name: string): Promise<void>;
  /** the kernel drops the cached pages of a node (length 0: to the end), writing dirty ones back first */
  invalidateInode(ino: number, offset?: number, length?: number): Promise<void>;
  /** the data path stops serving an open file: its next reads and writes reach the tree */
  stopServing(handle: unknown): void;
  /** a warning for the daemon's log (what a user of the mount should know: not a kernel message) */
  warn?(fields: Record<string, unknown>, message: string): void;
}

export const NOT_MOUNTED: MountPort = {
  device: undefined,
  invalidateEntry: async () => undefined,
  invalidateInode: async () => undefined,
  stopServing: () => undefined,
};
