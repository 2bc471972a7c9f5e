// The host-bridge allow list of drivers/pci/p2pdma.c (pci_p2pdma_whitelist[],
// [PCI-NEXT]) as data, and the CPU rule that bypasses it.

import type { CpuSpec } from '../../config/index.js';

export const REQ_SAME_HOST_BRIDGE = 1 << 0;
export const PCI_ANY_ID = -1;

export interface WhitelistEntry {
  vendor: number;
  device: number;
  flags: number;
  what: string;
}

const intel = (device: number, flags: number, what: string): WhitelistEntry => ({ vendor: 0x8086, device, flags, what });

export const P2PDMA_WHITELIST: readonly WhitelistEntry[] = [
  intel(0x3c00, REQ_SAME_HOST_BRIDGE, 'Intel Xeon E5/Core i7'),
  intel(0x3c01, REQ_SAME_HOST_BRIDGE, 'Intel Xeon E5/Core i7'),
  intel(0x2f00, REQ_SAME_HOST_BRIDGE, 'Intel Xeon E7 v3/Xeon E5 v3/Core i7'),
  intel(0x2f01, REQ_SAME_HOST_BRIDGE, 'Intel Xeon E7 v3/Xeon E5 v3/Core i7'),
  intel(0x2030, 0, 'Intel Skylake-E'),
  intel(0x2031, 0, 'Intel Skylake-E'),
  intel(0x2032, 0, 'Intel Skylake-E'),
  intel(0x2033, 0, 'Intel Skylake-E'),
  intel(0x2020, 0, 'Intel Skylake-E'),
  intel(0x09a2, 0, 'Intel Ice Lake'),
  intel(0x0b25, 0, 'Intel DSA (Sapphire Rapids)'),
  intel(0x0cfe, 0, 'Intel IAX (Sapphire Rapids)'),
  intel(0x11fb, 0, 'Intel DSA (Granite Rapids-D)'),
  intel(0x1212, 0, 'Intel DSA (Diamond Rapids)'),
  intel(0x1216, 0, 'Intel IAA (Diamond Rapids)'),
  intel(0x4940, 0, 'Intel QAT 4xxx'),
  intel(0x4942, 0, 'Intel QAT 401xx'),
  intel(0x4944, 0, 'Intel QAT 402xx'),
  intel(0x4946, 0, 'Intel QAT 420xx'),
  intel(0x4948, 0, 'Intel QAT 6xxx'),
  { vendor: 0x1ae0, device: PCI_ANY_ID, flags: 0, what: 'Google' },
  { vendor: 0x10de, device: 0x2f95, flags: 0, what: 'NVIDIA CPU' },
  { vendor: 0x10de, device: 0x2f96, flags: 0, what: 'NVIDIA CPU' },
  { vendor: 0x10de, device: 0x2f97, flags: 0, what: 'NVIDIA CPU' },
  { vendor: 0x10de, device: 0x2f98, flags: 0, what: 'NVIDIA CPU' },
  { vendor: 0x1d17, device: 0x1003, flags: REQ_SAME_HOST_BRIDGE, what: 'Zhaoxin' },
  { vendor: 0x1d17, device: 0x1005, flags: REQ_SAME_HOST_BRIDGE, what: 'Zhaoxin' },
  { vendor: 0x1d17, device: 0x1006, flags: REQ_SAME_HOST_BRIDGE, what: 'Zhaoxin' },
  { vendor: 0x1d17, device: 0x1007, flags: REQ_SAME_HOST_BRIDGE, what: 'Zhaoxin' },
  { vendor: 0x1d17, device: 0x1008, flags: 0, what: 'Zhaoxin' },
];

export function findWhitelistEntry(vendor: number, device: number): WhitelistEntry | undefined {
  return P2PDMA_WHITELIST.find((e) => e.vendor === vendor && (e.device === PCI_ANY_ID || e.device === device));
}

// kernel: cpu_supports_p2pdma(), drivers/pci/p2pdma.c [PCI-NEXT]
/** AMD Zen and newer (family ≥ 0x17) route P2P through any host bridge. */
export function cpuSupportsP2pdma(cpu: CpuSpec): boolean {
  return cpu.vendor === 'AuthenticAMD' && cpu.family >= 0x17;
}
