// A host bridge's own PCI function at 00.0 of its root bus (the device
// lspci lists as "Host bridge"), or `function: none` when the root bus has no
// such function (ARM root ports at 00.0, uncore buses): then 00.0 is free.

import type { HostFunctionSpec } from './spec.js';
import type { Cursor } from './yaml-cursor.js';

export const HOST_FUNCTION_KEYS = ['class', 'revision', 'subsystem_vendor', 'subsystem_device', 'config_size'];

/** The host bridge's own function at 00.0: built from these keys, or `function: none` for a root bus without one. */
export function parseHostFunction(c: Cursor): HostFunctionSpec | undefined {
  if (c.get('function').present) {
    if (c.get('function').str() !== 'none') c.get('function').fail('function takes only "none" (the root bus has no host-bridge function; 00.0 is free)');
    for (const key of HOST_FUNCTION_KEYS) if (c.has(key)) c.get(key).fail(`${key} describes the host-bridge function, and function is none`);
    return undefined;
  }
  const configSize = c.get('config_size').int(4096);
  if (configSize !== 256 && configSize !== 4096) c.get('config_size').fail('a host bridge has 256 or 4096 bytes of config space');
  return {
    classCode: c.get('class').int(0x060000, 0, 0xffffff),
    revision: c.get('revision').int(0, 0, 0xff),
    subsystemVendor: c.get('subsystem_vendor').int(c.get('vendor').int(0x8086, 0, 0xffff), 0, 0xffff),
    subsystemDevice: c.get('subsystem_device').int(0, 0, 0xffff),
    configSize,
  };
}
