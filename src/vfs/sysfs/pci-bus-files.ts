// /sys/bus/pci itself: rescan, drivers_probe, drivers_autoprobe,
// resource_alignment, uevent, the slots/ kset, and the files of each driver
// directory (bind, unbind, new_id, remove_id, uevent).

import { kernelError } from '../../errno.js';
import type { DriverCore } from '../../model/index.js';
import { currentLink, maxLink, pciSpeedString, type PciDev, type PciHost } from '../../model/index.js';
import type { DirNode } from '../node.js';
import type { InodeTable } from '../tree.js';
import { kstrtoulOrEinval, sysfsName } from './kstrto.js';
import { synthUeventStore } from './synth-uevent.js';

const hex = (n: number, w: number) => n.toString(16).padStart(w, '0');
const PAGE_SIZE = 4096;

// kernel: bus_find_device_by_name(), drivers/base/bus.c
/** A device named by a write: its exact name, as sysfs_streq() compares it (one trailing newline, a NUL ends it). */
function deviceByName(host: PciHost, text: string): PciDev {
  const name = sysfsName(text);
  const dev = host.byPciName(name);
  if (!dev) throw kernelError('ENODEV', `no device ${JSON.stringify(name)} on the pci bus`);
  return dev;
}

export function addBusFiles(t: InodeTable, busPci: DirNode, host: PciHost, drivers: DriverCore, rescan: () => Promise<unknown>): void {
  // kernel: rescan_store() (bus_rescan_store), drivers/pci/pci-sysfs.c
  t.text(busPci, 'rescan', 0o200, undefined, async (text) => {
    if (kstrtoulOrEinval(text) !== 0) await rescan();
  });
  // kernel: drivers_probe_store(), drivers/base/bus.c: a bound device is left alone, an unbound one gets a driver if one matches
  t.text(busPci, 'drivers_probe', 0o200, undefined, (text) => drivers.attach(deviceByName(host, text)));
  // kernel: drivers_autoprobe_store(), drivers/base/bus.c: "0" turns it off, anything else on
  t.text(busPci, 'drivers_autoprobe', 0o644, () => `${drivers.autoprobe ? 1 : 0}\n`, (text) => {
    drivers.autoprobe = !text.startsWith('0');
  });
  // kernel: resource_alignment_show(), drivers/pci/pci.c: empty unless pci=resource_alignment= was given
  // kernel: resource_alignment_store(): a page or more is EINVAL; what it says applies at the next boot
  t.text(busPci, 'resource_alignment', 0o644, () => '', (text) => {
    if (text.length >= PAGE_SIZE - 1) throw kernelError('EINVAL', 'resource_alignment takes less than a page');
  });
  // kernel: bus_uevent_store(), drivers/base/bus.c
  t.text(busPci, 'uevent', 0o200, undefined, (text) => synthUeventStore(drivers.klog, '/bus/pci', text));
  addSlots(t, t.dir(busPci, 'slots'), host);
}

/** The physical slots: ports the model numbered (their children carry the number) and functions a recording names. */
function physicalSlots(host: PciHost): { name: string; dev: PciDev }[] {
  const out = new Map<string, PciDev>();
  for (const dev of host.sorted()) {
    const name = dev.slotName ?? (dev.physicalSlot !== undefined ? String(dev.physicalSlot) : undefined);
    if (name !== undefined && !out.has(name)) out.set(name, dev);
  }
  return [...out].map(([name, dev]) => ({ name, dev }));
}

// kernel: address_read_file(), max_speed_read_file(), cur_speed_read_file(), drivers/pci/slot.c
/** One slot kobject per physical slot (registered by ACPI pci_slot or a hotplug driver): address and bus speeds. */
function addSlots(t: InodeTable, slots: DirNode, host: PciHost): void {
  for (const { name, dev } of physicalSlots(host)) {
    const d = t.dir(slots, name);
    t.text(d, 'address', 0o444, () => `${hex(dev.domain, 4)}:${hex(dev.bus, 2)}:${hex(dev.slot, 2)}\n`);
    // the bus speed of the slot is the link of the port above it
    const port = dev.upstream;
    const speed = (read: typeof currentLink) => () => `${pciSpeedString(port ? read(port.config)?.speed : undefined)}\n`;
    t.text(d, 'max_bus_speed', 0o444, speed(maxLink));
    t.text(d, 'cur_bus_speed', 0o444, speed(currentLink));
  }
}

/** Files of sys/bus/pci/drivers/<name> besides the device links. */
export function addDriverFiles(t: InodeTable, drv: DirNode, name: string, host: PciHost, drivers: DriverCore): void {
  const bdfOf = (text: string) => deviceByName(host, text);
  // kernel: bind_store() / unbind_store(), drivers/base/bus.c
  t.text(drv, 'bind', 0o200, undefined, (text) => drivers.bind(bdfOf(text), name));
  t.text(drv, 'unbind', 0o200, undefined, (text) => drivers.unbind(bdfOf(text), name));
  // kernel: new_id_store() / remove_id_store(), drivers/pci/pci-driver.c
  t.text(drv, 'new_id', 0o200, undefined, (text) => drivers.newId(name, text));
  t.text(drv, 'remove_id', 0o200, undefined, (text) => drivers.removeId(name, text));
  // kernel: drv_uevent_store(), drivers/base/bus.c
  t.text(drv, 'uevent', 0o200, undefined, (text) => synthUeventStore(drivers.klog, `/bus/pci/drivers/${name}`, text));
}
