import type { Caller } from '../fs-types.js';

export type { Caller };

export function isPrivileged(caller: Caller): boolean {
  return caller.uid === 0;
}
