// The resolved topology: plain data, validated, with every default filled in.
// `where` is "file:line:col" of the YAML node; `at` adds its path in the
// document, so errors found later (enumeration, resources) name the key.

export const ACS_BITS = { SV: 0x0001, TB: 0x0002, RR: 0x0004, CR: 0x0008, UF: 0x0010, EC: 0x0020, DT: 0x0040 } as const;
export type AcsBit = keyof typeof ACS_BITS;

export const ENDPOINT_KINDS = ['nvme', 'accelerator', 'nic', 'p2pmem', 'function'] as const;
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

/** One line of the sysfs `resource` file: 0–5 BARs, 6 the ROM, 7–12 VF BARs (whole), 13–16 bridge windows. */
export interface ResourceSpec {
  at: SpecPos;
  index: number;
  /** CPU address */
  start: number;
  size: number;
  /** IORESOURCE_* flags, as the file prints them */
  flags: number;
}

/** Config space bytes given in the file (recorded, imported or written by hand). */
export interface RawConfigSpec {
  at: SpecPos;
  /** 64, 256 or 4096 bytes */
  bytes: Buffer;
}

/** The SR-IOV capability written for a function whose config space is generated. */
export interface SriovCapSpec {
  totalVfs: number;
  vfDevice: number;
  offset: number;
  stride: number;
  /** per-VF BARs */
  bars: BarSpec[];
}

/** A VF as recorded: its own config space and what sysfs showed for it. */
export interface VfSpec {
  at: SpecPos;
  config: RawConfigSpec | undefined;
  /** undefined: the PF's vf_driver */
  driver: string | null | undefined;
  irq: number | undefined;
  msiIrqs: number[] | undefined;
  numaNode: number | undefined;
  iommuGroup: number | undefined;
}

export interface SriovSpec {
  at: SpecPos;
  /** undefined when the PF's config bytes hold the capability */
  cap: SriovCapSpec | undefined;
  /** VFs enabled at boot (what sriov_numvfs showed when recorded) */
  numVfs: number;
  /** the driver whose ID table holds the VFs; undefined: VFs stay unbound */
  vfDriver: string | undefined;
  /** sriov_drivers_autoprobe */
  autoprobe: boolean;
  /** P2P memory each bound VF registers (a BAR of the VF) */
  p2pmem: P2pmemSpec | undefined;
  /** recorded VFs by index */
  vfs: VfSpec[];
}

/** What a function's header says it is: IDs, revision and class code. */
export interface PciIds {
  vendor: number;
  device: number;
  subsystemVendor: number;
  subsystemDevice: number;
  revision: number;
  classCode: number;
}

export interface EndpointSpec extends Located, PciIds {
  kind: EndpointKind;
  name: string;
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
  /** config space bytes from the file: IDs, class, header, capabilities, bus numbers and ACS are read from them */
  config: RawConfigSpec | undefined;
  /** generated config space only: false for a conventional PCI function (256 bytes, no PCI Express capability) */
  pcie: boolean;
  /** lines of the sysfs resource file as recorded; undefined: computed from the BARs */
  resource: ResourceSpec[] | undefined;
  /** the sysfs irq value; undefined: routed by the model (or the config's Interrupt Line) */
  irq: number | undefined;
  /** the IRQs of msi_irqs/ as recorded */
  msiIrqs: number[] | undefined;
  /** the recorded IOMMU group */
  iommuGroup: number | undefined;
  /** the physical slot name lspci shows (sysfs slots/) */
  physicalSlot: string | undefined;
  sriov: SriovSpec | undefined;
  /** functions below it, when its config space says it is a bridge */
  children: NodeSpec[];
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

/** The host bridge's own function at 00.0 of its root bus, when the model builds it. */
export interface HostFunctionSpec {
  classCode: number;
  revision: number;
  subsystemVendor: number;
  subsystemDevice: number;
  /** 256 or 4096 */
  configSize: number;
}

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
  /** undefined: `function: none`, the root bus has no host-bridge function and 00.0 is free */
  fn: HostFunctionSpec | undefined;
  children: NodeSpec[];
}

/** NUMA_NO_NODE: numa_node of a function the firmware placed nowhere */
export const NUMA_NO_NODE = -1;
/** the largest domain number lspci reads from sysfs (it must fit a signed int) */
export const MAX_DOMAIN = 0x7fffffff;

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
