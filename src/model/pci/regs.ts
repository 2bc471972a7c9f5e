// Config-space register offsets and values (include/uapi/linux/pci_regs.h).

export const PCI_VENDOR_ID = 0x00;
export const PCI_DEVICE_ID = 0x02;
export const PCI_COMMAND = 0x04;
export const PCI_STATUS = 0x06;
export const PCI_REVISION_ID = 0x08;
export const PCI_CLASS_PROG = 0x09;
export const PCI_CACHE_LINE_SIZE = 0x0c;
export const PCI_HEADER_TYPE = 0x0e;
export const PCI_BASE_ADDRESS_0 = 0x10;
export const PCI_SUBSYSTEM_VENDOR_ID = 0x2c;
export const PCI_SUBSYSTEM_ID = 0x2e;
export const PCI_CAPABILITY_LIST = 0x34;
export const PCI_INTERRUPT_LINE = 0x3c;
export const PCI_INTERRUPT_PIN = 0x3d;

// type 1 (bridge) header
export const PCI_PRIMARY_BUS = 0x18;
export const PCI_SECONDARY_BUS = 0x19;
export const PCI_SUBORDINATE_BUS = 0x1a;
export const PCI_IO_BASE = 0x1c;
export const PCI_IO_LIMIT = 0x1d;
export const PCI_MEMORY_BASE = 0x20;
export const PCI_MEMORY_LIMIT = 0x22;
export const PCI_PREF_MEMORY_BASE = 0x24;
export const PCI_PREF_MEMORY_LIMIT = 0x26;
export const PCI_PREF_BASE_UPPER32 = 0x28;
export const PCI_PREF_LIMIT_UPPER32 = 0x2c;
export const PCI_CAPABILITY_LIST_BRIDGE = 0x34;
export const PCI_BRIDGE_CONTROL = 0x3e;

export const PCI_COMMAND_MEMORY = 0x2;
export const PCI_COMMAND_MASTER = 0x4;
export const PCI_COMMAND_INTX_DISABLE = 0x400;
export const PCI_STATUS_CAP_LIST = 0x10;

export const PCI_HEADER_TYPE_NORMAL = 0;
export const PCI_HEADER_TYPE_BRIDGE = 1;
export const PCI_HEADER_TYPE_MFD = 0x80;

export const PCI_BASE_ADDRESS_MEM_TYPE_64 = 0x04;
export const PCI_BASE_ADDRESS_MEM_PREFETCH = 0x08;

export const PCI_CAP_ID_PM = 0x01;
export const PCI_CAP_ID_EXP = 0x10;
export const PCI_EXT_CAP_ID_ACS = 0x000d;

// PCI Express capability
export const PCI_EXP_FLAGS = 0x02;
export const PCI_EXP_DEVCAP = 0x04;
export const PCI_EXP_DEVCTL = 0x08;
export const PCI_EXP_LNKCAP = 0x0c;
export const PCI_EXP_LNKCTL = 0x10;
export const PCI_EXP_LNKSTA = 0x12;
export const PCI_EXP_DEVCAP2 = 0x24;
export const PCI_EXP_LNKCAP2 = 0x2c;
export const PCI_EXP_LNKCTL2 = 0x30;
export const PCI_CAP_EXP_SIZEOF = 0x3c;

export const PCI_EXP_TYPE_ENDPOINT = 0x0;
export const PCI_EXP_TYPE_ROOT_PORT = 0x4;
export const PCI_EXP_TYPE_UPSTREAM = 0x5;
export const PCI_EXP_TYPE_DOWNSTREAM = 0x6;
export const PCI_EXP_TYPE_RC_END = 0x9;

export const PCI_EXP_LNKCAP_DLLLARC = 0x00100000;
export const PCI_EXP_LNKSTA_SLC = 0x1000;
export const PCI_EXP_LNKSTA_DLLLA = 0x2000;

// ACS extended capability: capability register at +4, control at +6
export const PCI_ACS_CAP = 0x04;
export const PCI_ACS_CTRL = 0x06;
export const PCI_ACS_SV = 0x0001;
export const PCI_ACS_TB = 0x0002;
export const PCI_ACS_RR = 0x0004;
export const PCI_ACS_CR = 0x0008;
export const PCI_ACS_UF = 0x0010;
export const PCI_ACS_EC = 0x0020;
export const PCI_ACS_DT = 0x0040;

export const PCI_CFG_SPACE_SIZE = 256;
export const PCI_CFG_SPACE_EXP_SIZE = 4096;

// linux/ioport.h resource flags, as printed in the sysfs `resource` file
export const IORESOURCE_MEM = 0x00000200;
export const IORESOURCE_PREFETCH = 0x00002000;
export const IORESOURCE_SIZEALIGN = 0x00040000;
export const IORESOURCE_MEM_64 = 0x00100000;

// MSI and MSI-X capabilities
export const PCI_CAP_ID_MSI = 0x05;
export const PCI_CAP_ID_MSIX = 0x11;
export const PCI_MSI_FLAGS = 0x02;
export const PCI_MSI_FLAGS_ENABLE = 0x0001;
export const PCI_MSI_FLAGS_64BIT = 0x0080;
export const PCI_MSIX_FLAGS = 0x02;
export const PCI_MSIX_TABLE = 0x04;
export const PCI_MSIX_PBA = 0x08;
export const PCI_MSIX_FLAGS_ENABLE = 0x8000;

// PCI Express slot registers
export const PCI_EXP_FLAGS_SLOT = 0x0100;
export const PCI_EXP_SLTCAP = 0x14;
export const PCI_EXP_SLTSTA = 0x1a;
export const PCI_EXP_SLTSTA_PDS = 0x0040;

// header type 2 (CardBus bridge)
export const PCI_HEADER_TYPE_CARDBUS = 2;
export const PCI_CB_CAPABILITY_LIST = 0x14;
export const PCI_CB_PRIMARY_BUS = 0x18;
export const PCI_CB_CARD_BUS = 0x19;
export const PCI_CB_SUBORDINATE_BUS = 0x1a;

// bridge I/O window upper halves, expansion ROMs
export const PCI_IO_BASE_UPPER16 = 0x30;
export const PCI_IO_LIMIT_UPPER16 = 0x32;
export const PCI_ROM_ADDRESS = 0x30;
export const PCI_ROM_ADDRESS1 = 0x38;
export const PCI_ROM_ADDRESS_ENABLE = 0x01;
export const PCI_BASE_ADDRESS_SPACE_IO = 0x01;
export const PCI_IO_RANGE_TYPE_32 = 0x01;
export const PCI_PREF_RANGE_TYPE_64 = 0x01;

// bridge subsystem IDs live in a capability
export const PCI_CAP_ID_SSVID = 0x0d;
export const PCI_SSVID_VENDOR_ID = 0x04;
export const PCI_SSVID_DEVICE_ID = 0x06;

// PCI Express capability fields
export const PCI_EXP_FLAGS_VERS = 0x000f;
export const PCI_EXP_LNKCAP_SLS = 0x0000000f;
export const PCI_EXP_LNKCAP_MLW = 0x000003f0;
export const PCI_EXP_LNKCAP2_SLS = 0x000000fe;
export const PCI_EXP_LNKSTA_CLS = 0x000f;
export const PCI_EXP_LNKSTA_NLW = 0x03f0;
export const PCI_EXP_TYPE_LEG_END = 0x1;
export const PCI_EXP_TYPE_PCI_BRIDGE = 0x7;
export const PCI_EXP_TYPE_PCIE_BRIDGE = 0x8;

// SR-IOV extended capability (include/uapi/linux/pci_regs.h)
export const PCI_EXT_CAP_ID_SRIOV = 0x0010;
export const PCI_SRIOV_CAP = 0x04;
export const PCI_SRIOV_CAP_VFM = 0x00000001;
export const PCI_SRIOV_CTRL = 0x08;
export const PCI_SRIOV_CTRL_VFE = 0x01;
export const PCI_SRIOV_CTRL_MSE = 0x08;
export const PCI_SRIOV_CTRL_ARI = 0x10;
export const PCI_SRIOV_STATUS = 0x0a;
export const PCI_SRIOV_INITIAL_VF = 0x0c;
export const PCI_SRIOV_TOTAL_VF = 0x0e;
export const PCI_SRIOV_NUM_VF = 0x10;
export const PCI_SRIOV_FUNC_LINK = 0x12;
export const PCI_SRIOV_VF_OFFSET = 0x14;
export const PCI_SRIOV_VF_STRIDE = 0x16;
export const PCI_SRIOV_VF_DID = 0x1a;
export const PCI_SRIOV_SUP_PGSIZE = 0x1c;
export const PCI_SRIOV_SYS_PGSIZE = 0x20;
export const PCI_SRIOV_BAR = 0x24;
export const PCI_SRIOV_NUM_BARS = 6;
export const PCI_EXT_CAP_SRIOV_SIZEOF = 0x40;
/** resource index of VF BAR 0 (PCI_IOV_RESOURCES), after the 6 BARs and the ROM */
export const PCI_IOV_RESOURCES = 7;
/** resource index of the first bridge window (PCI_BRIDGE_RESOURCES) with CONFIG_PCI_IOV */
export const PCI_BRIDGE_RESOURCES = 13;
export const PCI_ROM_RESOURCE = 6;

// more linux/ioport.h flags
export const IORESOURCE_IO = 0x00000100;
export const IORESOURCE_READONLY = 0x00004000;
