// PCIe link speeds: the Link Capabilities/Status encoding and the sysfs text.

const SPEEDS = [2.5, 5, 8, 16, 32, 64];

/** Supported Link Speeds encoding: 1 = 2.5 GT/s … 6 = 64 GT/s. */
export function linkSpeedCode(gts: number): number {
  const i = SPEEDS.indexOf(gts);
  if (i < 0) throw new Error(`not a PCIe link speed: ${gts}`);
  return i + 1;
}

// kernel: pci_speed_string(), drivers/pci/probe.c [K, unverified: see native-notes/sysfs-tree.md]
export function pciSpeedString(gts: number | undefined): string {
  return gts === undefined ? 'Unknown' : `${gts.toFixed(1)} GT/s PCIe`;
}
