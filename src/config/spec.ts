// The resolved topology: plain data, validated, with every default filled in.
// `where` is "file:line:col" of the YAML node; `at` adds its path in the
// document, so errors found later (enumeration, resources) name the key.

export const ACS_BITS = { SV: 0x0001, TB: 0x0002, RR: 0x0004, CR: 0x0008, UF: 0x0010, EC: 0x0020, DT: 0x0040 } as const;
export type AcsBit = keyof typeof ACS_BITS;

export const ENDPOINT_KINDS = ['nvme', 'accelerator', 'nic', 'p2pmem'] as const;
export type EndpointKind = (typeof ENDPOINT_KINDS)[number];
export const NODE_KINDS = ['root_port', 'switch', ...ENDPOINT_KINDS] as const;

export interface Slot {
  dev: number;
  fn: number;
}

export interface LinkSpec {
  /** GT/s: 2.5, 5, 8, 16, 32, 64 */
  speed: number;
  width: number;
}

/** A YAML node's place: "file:line:col" and its path, e.g. host_bridges[0].children[1].bus */
export interface SpecPos {
  where: string;
  path: string;
}

export interface BarSpec {
  /** the BAR's size key (or the cmb that added the BAR) */
  at: SpecPos;
  index: number;
  size: number;
  is64: boolean;
  prefetch: boolean;
}

/** How a provider's P2P memory is cut into folios (model/mm/folio.ts). */
export interface FolioSpec {
  policy: 'base' | 'device-align' | 'best-effort';
  /** device-align: the pgmap's folio size; best-effort: the largest size tried */
  align: number;
}

export interface CmbSpec {
  bar: number;
  offset: number;
  size: number;
  /** CMBSZ capability flags: SQS, CQS, LISTS, RDS, WDS */
  flags: string[];
  folios: FolioSpec;
}

export interface P2pmemSpec {
  bar: number;
  offset: number;
  /** 0: the rest of the BAR from offset (as pci_p2pdma_add_resource takes it) */
  size: number;
  folios: FolioSpec;
}

interface Located {
  where: string;
  at: SpecPos;
  slot: Slot;
}

export interface EndpointSpec extends Located {
  kind: EndpointKind;
  name: string;
  vendor: number;
  device: number;
  subsystemVendor: number;
  subsystemDevice: number;
  revision: number;
  classCode: number;
  bars: BarSpec[];
  link: LinkSpec;
  maxLink: LinkSpec;
  numaNode: number | undefined;
  driver: string | undefined;
  acs: AcsBit[] | undefined;
  cmb: CmbSpec | undefined;
  p2pmem: P2pmemSpec | undefined;
  /** namespaces' queues advertise BLK_FEAT_PCI_P2PDMA (NVMe) */
  p2pdmaQueues: boolean;
  /** NVMe only */
  nvme: NvmeSpec | undefined;
  /** bytes of device-private memory (a MEMORY_DEVICE_PRIVATE pgmap owned by this device); 0: none */
  devicePrivate: number;
}

export interface NamespaceSpec {
  nsid: number;
  size: number;
  /** logical block size: 512 or 4096 */
  lbaSize: number;
}

export interface NvmeSpec {
  namespaces: NamespaceSpec[];
  /** I/O queues the driver creates (nvme_setup_io_queues) */
  ioQueues: number;
  /** io_queue_depth module parameter */
  queueDepth: number;
  /** use_cmb_sqes module parameter */
  useCmbSqes: boolean;
  model: string;
  serial: string;
}

export interface PortSpec extends Located {
  name: string;
  vendor: number;
  device: number;
  acs: AcsBit[];
  link: LinkSpec;
  /** fixed secondary bus number, when the file gives one */
  bus: number | undefined;
  /** the bus key, or the port itself when the bus is numbered by enumeration */
  busAt: SpecPos;
  children: NodeSpec[];
}

export interface RootPortSpec extends PortSpec {
  kind: 'root_port';
}

export interface SwitchSpec extends Located {
  kind: 'switch';
  name: string;
  upstream: PortSpec;
  ports: PortSpec[];
}

export type NodeSpec = RootPortSpec | SwitchSpec | EndpointSpec;

export interface HostBridgeSpec {
  where: string;
  at: SpecPos;
  busAt: SpecPos;
  name: string;
  domain: number;
  bus: number;
  vendor: number;
  device: number;
  numaNode: number;
  children: NodeSpec[];
}

/**
 * The x86 vendor strings the kernel identifies (the c_ident of each cpu_dev in
 * arch/x86/kernel/cpu/: intel.c, amd.c, hygon.c, centaur.c, zhaoxin.c; the
 * 32-bit-only vendors left out). cpu_supports_p2pdma() tests the vendor the
 * string maps to, so a misspelt string would silently be "not AMD".
 */
export const CPU_VENDORS = ['GenuineIntel', 'AuthenticAMD', 'HygonGenuine', 'CentaurHauls', '  Shanghai  '] as const;

/** CONFIG_NR_CPUS at its largest (x86_64 MAXSMP): no CPU number reaches it. */
export const NR_CPUS_MAX = 8192;

export interface CpuSpec {
  vendor: string; // one of CPU_VENDORS
  family: number;
  model: number;
}

/** CPUs first..last, both included */
export type CpuRange = [number, number];

export interface NumaNodeSpec {
  node: number;
  cpus: string; // cpulist, e.g. "0-7"
  /** the cpulist as ascending, non-overlapping ranges, every CPU below NR_CPUS_MAX */
  ranges: CpuRange[];
}

/** Kernel behaviour to emulate: mainline, or a proposal that was not merged as written. */
export const PROFILES = ['mainline', 'userspace-p2pdma-rfc', 'hmm-allow-p2p'] as const;
export type Profile = (typeof PROFILES)[number];

export interface TopologySpec {
  file: string;
  name: string;
  profile: Profile;
  cpu: CpuSpec;
  iommu: boolean;
  numa: NumaNodeSpec[];
  hostBridges: HostBridgeSpec[];
}
