// What a function is, read from its config space as the kernel reads it:
// the header type says bridge or not, the PCI Express capability says which
// kind of port, and a type 0 header with the host-bridge class is a host bridge.

import { headerType, idsFromConfig, pcieType } from './config-read.js';
import type { PciRole } from './pci-dev.js';
import * as R from './regs.js';

const PCI_CLASS_BRIDGE_HOST = 0x0600;

// kernel: pci_setup_device() (header type) and set_pcie_port_type(), drivers/pci/probe.c
export function roleFromConfig(cfg: Buffer): PciRole {
  const type = headerType(cfg);
  if (type === R.PCI_HEADER_TYPE_BRIDGE || type === R.PCI_HEADER_TYPE_CARDBUS) {
    switch (pcieType(cfg)) {
      case R.PCI_EXP_TYPE_ROOT_PORT:
        return 'root_port';
      case R.PCI_EXP_TYPE_UPSTREAM:
        return 'switch_upstream';
      case R.PCI_EXP_TYPE_DOWNSTREAM:
        return 'switch_downstream';
      default:
        return 'pci_bridge';
    }
  }
  return idsFromConfig(cfg).classCode >>> 8 === PCI_CLASS_BRIDGE_HOST ? 'host_bridge' : 'function';
}
