// Writes to a device's uevent file: "ACTION [UUID [KEY=VALUE ...]]", one
// trailing newline or NUL dropped (kobject_synth_uevent, lib/kobject_uevent.c).
// The parse counts bytes, not C-string characters: a NUL inside is just a
// character that matches nothing.

import { kernelError, KernelError } from '../../errno.js';
import { KERN_WARNING, type KernelLog } from '../../model/index.js';

const ACTIONS = new Set(['add', 'remove', 'change', 'move', 'online', 'offline', 'bind', 'unbind']);
// uuid_is_valid(): 8-4-4-4-12 hex digits
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/i;
// isalnum() of the kernel's ctype table: ASCII and the Latin-1 letters
const ALNUM = '[0-9A-Za-z\\xc0-\\xd6\\xd8-\\xf6\\xf8-\\xff]+';
const KEY_VALUES = new RegExp(`^( ${ALNUM}=${ALNUM})*$`);

export interface SynthUevent {
  action: string;
  /** SYNTH_UUID, "0" when none was given */
  uuid: string;
  args: [string, string][];
}

/** kobject_action_type(): the first word must be an action name, nothing more or less. */
function actionType(s: string): { action: string; args: string | undefined } {
  const sp = s.indexOf(' ');
  const action = sp < 0 ? s : s.slice(0, sp);
  if (!ACTIONS.has(action)) throw kernelError('EINVAL', 'unknown uevent action string');
  return { action, args: sp < 0 ? undefined : s.slice(sp + 1) };
}

// kernel: kobject_synth_uevent(), lib/kobject_uevent.c
/** The event a write asks for; EINVAL with the kernel's reason otherwise. */
export function kobjectSynthUevent(text: string): SynthUevent {
  const s = text.endsWith('\n') || text.endsWith('\0') ? text.slice(0, -1) : text;
  const { action, args } = actionType(s);
  if (args === undefined) return { action, uuid: '0', args: [] };
  // kobject_action_args(): a UUID, then " KEY=VALUE" pairs of alphanumerics
  const uuid = UUID.exec(args)?.[0];
  const rest = uuid ? args.slice(uuid.length) : '';
  if (!uuid || !KEY_VALUES.test(rest)) throw kernelError('EINVAL', 'incorrect uevent action arguments');
  const pairs = rest
    .split(' ')
    .filter(Boolean)
    .map((kv) => kv.split('=') as [string, string]);
  return { action, uuid, args: pairs };
}

/**
 * A store of a uevent file (uevent_store(), bus_uevent_store(), drv_uevent_store()):
 * a write the kernel cannot turn into an event is EINVAL and logged, as
 * kobject_synth_uevent() logs it, with the object's path.
 */
export function synthUeventStore(klog: KernelLog, devpath: string, text: string): void {
  try {
    kobjectSynthUevent(text);
  } catch (err) {
    if (err instanceof KernelError) klog.log(KERN_WARNING, `synth uevent: ${devpath}: ${err.message.replace(/^EINVAL: /, '')}`);
    throw err;
  }
}

/** The store of a uevent file whose device logs nothing of its own here: the grammar alone (EINVAL). */
export function ueventWrite(text: string): void {
  kobjectSynthUevent(text);
}
