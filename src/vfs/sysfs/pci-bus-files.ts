// /sys/bus/pci itself: rescan, drivers_probe, drivers_autoprobe,
// resource_alignment, uevent, the slots/ kset, and the files of each driver
// directory (bind, unbind, new_id, remove_id, uevent).

import { kernelError } from '../../errno.js';
import type { DriverCore } from '../../model/drivers/index.js';
import { pciSpeedString, type PciDev, type PciHost } from '../../model/pci/index.js';
import type { DirNode } from '../node.js';
import type { InodeTable } from '../tree.js';
import { kstrtoul } from './kstrto.js';

const hex = (n: number, w: number) => n.toString(16).padStart(w, '0');

/** A device named by a write (bus_find_device_by_name: the name, an optional trailing newline). */
function deviceByName(host: PciHost, text: string): PciDev {
  const name = text.replace(/\n$/, '');
  const dev = host.devices.find((d) => d.bdf === name);
  if (!dev) throw kernelError('ENODEV', `no device ${name}`);
  return dev;
}

// kernel: uevent_store(), drivers/base/core.c: a known action, optionally followed by a UUID and variables
export function ueventStore(text: string): void {
  if (!/^(add|remove|change|move|online|offline|bind|unbind)(\s|$)/.test(text.trim())) throw kernelError('EINVAL', 'unknown uevent action');
}

export function addBusFiles(t: InodeTable, busPci: DirNode, host: PciHost, drivers: DriverCore, rescan: () => void): void {
  // kernel: rescan_store() (bus_rescan_store), drivers/pci/pci-sysfs.c
  t.text(busPci, 'rescan', 0o200, undefined, (text) => {
    if (kstrtoul(text) !== 0) rescan();
  });
  // kernel: drivers_probe_store(), drivers/base/bus.c: a bound device is left alone, an unbound one gets a driver if one matches
  t.text(busPci, 'drivers_probe', 0o200, undefined, (text) => drivers.attach(deviceByName(host, text)));
  // kernel: drivers_autoprobe_store(), drivers/base/bus.c: "0" turns it off, anything else on
  t.text(busPci, 'drivers_autoprobe', 0o644, () => `${drivers.autoprobe ? 1 : 0}\n`, (text) => {
    drivers.autoprobe = !text.startsWith('0');
  });
  // kernel: resource_alignment_show(), drivers/pci/pci.c: empty unless pci=resource_alignment= was given
  t.text(busPci, 'resource_alignment', 0o644, () => '', () => undefined);
  t.text(busPci, 'uevent', 0o200, undefined, ueventStore);
  addSlots(t, t.dir(busPci, 'slots'), host);
}

// kernel: address_read_file(), max_speed_read_file(), cur_speed_read_file(), drivers/pci/slot.c
/** One slot kobject per physical slot (registered by ACPI pci_slot or a hotplug driver): address and bus speeds. */
function addSlots(t: InodeTable, slots: DirNode, host: PciHost): void {
  for (const port of host.sorted()) {
    const slotDev = port.children.find((c) => c.physicalSlot !== undefined);
    if (!port.isBridge || !slotDev || !port.busRange) continue;
    const d = t.dir(slots, String(slotDev.physicalSlot));
    const [secondary] = port.busRange;
    t.text(d, 'address', 0o444, () => `${hex(port.domain, 4)}:${hex(secondary, 2)}:00\n`);
    const speed = () => `${port.link ? pciSpeedString(port.link.speed) : 'Unknown'}\n`;
    t.text(d, 'max_bus_speed', 0o444, speed);
    t.text(d, 'cur_bus_speed', 0o444, speed);
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
  t.text(drv, 'uevent', 0o200, undefined, ueventStore);
}
