// Every writable file of a mount and every kind of node an ioctl can reach:
// the grammar of a write, the kernel code that answers it, and the errnos that
// code can return. The fuzz test holds the mount to this table, and
// native-notes/writable-files.md prints it (a unit test keeps the two equal).

export interface WritableClass {
  /** a short name, also the row's name in native-notes/writable-files.md */
  name: string;
  /** which files of a mount (path below the mount point) */
  path: RegExp;
  /** how a write is interpreted */
  grammar: string;
  /** the kernel function (and file) that answers */
  source: string;
  /** the errnos a write can fail with */
  errnos: string[];
  /** valid writes to start mutations from; {BDF}, {NAME}, {ADDR}, {ID} are filled in by the fuzzer */
  seeds: string[];
  /** written at an offset as raw bytes (binary attributes, block devices) rather than as text */
  binary?: boolean;
  /** writes that remove things: only in the last part of a fuzz run */
  destructive?: boolean;
  /** control files: one open holds state across a batch of writes */
  stateful?: boolean;
}

const NUMBERS = ['0', '1', '1\n', '0x1', '010', '+1', '-1', '99999999999999999999', '1\0x', ' 1', 'yes', 'on', '-0', ''];

export const WRITABLE_CLASSES: WritableClass[] = [
  {
    name: 'uevent',
    path: /\/sys\/devices\/.*\/uevent$/,
    grammar: 'ACTION [UUID [KEY=VALUE ...]], ACTION one of add remove change move online offline bind unbind; one trailing newline or NUL dropped',
    source: 'uevent_store(), drivers/base/core.c → kobject_synth_uevent(), lib/kobject_uevent.c',
    errnos: ['EINVAL', 'ENODEV'],
    seeds: ['add', 'change\n', 'remove', 'online', 'add 4a4a4a4a-0000-1111-2222-333344445555 A=1 b2=c', 'add 4a4a4a4a-0000-1111-2222-333344445555'],
  },
  {
    name: 'enable',
    path: /\/sys\/devices\/.*\/enable$/,
    grammar: 'kstrtoul, base 0: non-zero enables, 0 disables',
    source: 'enable_store(), drivers/pci/pci-sysfs.c',
    errnos: ['EPERM', 'EINVAL', 'EBUSY', 'EIO', 'ENODEV'],
    seeds: NUMBERS,
  },
  {
    name: 'numa_node',
    path: /\/sys\/devices\/.*\/numa_node$/,
    grammar: 'kstrtoint, base 0: an online node or -1 (NUMA_NO_NODE)',
    source: 'numa_node_store(), drivers/pci/pci-sysfs.c',
    errnos: ['EPERM', 'EINVAL', 'ENODEV'],
    seeds: [...NUMBERS, '-1', '2', '0x0'],
  },
  {
    name: 'd3cold_allowed',
    path: /\/sys\/devices\/.*\/d3cold_allowed$/,
    grammar: 'kstrtoul, base 0: non-zero allows D3cold',
    source: 'd3cold_allowed_store(), drivers/pci/pci-sysfs.c',
    errnos: ['EINVAL', 'ENODEV'],
    seeds: NUMBERS,
  },
  {
    name: 'broken_parity_status',
    path: /\/sys\/devices\/.*\/broken_parity_status$/,
    grammar: 'kstrtoul, base 0: non-zero marks broken parity',
    source: 'broken_parity_status_store(), drivers/pci/pci-sysfs.c',
    errnos: ['EINVAL', 'ENODEV'],
    seeds: NUMBERS,
  },
  {
    name: 'msi_bus',
    path: /\/sys\/devices\/.*\/msi_bus$/,
    grammar: 'kstrtoul, base 0: non-zero allows MSI for future drivers',
    source: 'msi_bus_store(), drivers/pci/pci-sysfs.c',
    errnos: ['EPERM', 'EINVAL', 'ENODEV'],
    seeds: NUMBERS,
  },
  {
    name: 'remove',
    path: /\/sys\/devices\/.*\/remove$/,
    grammar: 'kstrtoul, base 0: non-zero removes the device and everything below it',
    source: 'remove_store(), drivers/pci/pci-sysfs.c',
    errnos: ['EINVAL', 'ENODEV'],
    seeds: NUMBERS,
    destructive: true,
  },
  {
    name: 'rescan',
    path: /\/sys\/devices\/.*\/rescan$/,
    grammar: 'kstrtoul, base 0: non-zero rescans the bus the device sits on (removed functions come back)',
    source: 'dev_rescan_store(), drivers/pci/pci-sysfs.c',
    errnos: ['EINVAL', 'ENODEV'],
    seeds: NUMBERS,
  },
  {
    name: 'driver_override',
    path: /\/sys\/devices\/.*\/driver_override$/,
    grammar: 'a driver name, up to a NUL or the first newline; empty clears; a page or more is EINVAL',
    source: 'driver_override_store(), drivers/pci/pci-sysfs.c → driver_set_override(), drivers/base/driver.c',
    errnos: ['EINVAL', 'ENODEV'],
    seeds: ['', '\n', '{NAME}', '{NAME}\n', 'x\0y', '(null)'],
  },
  {
    name: 'power/control',
    path: /\/power\/control$/,
    grammar: 'on or auto (sysfs_streq); reads back what was written (control_show)',
    source: 'control_store(), drivers/base/power/sysfs.c',
    errnos: ['EINVAL', 'ENODEV'],
    seeds: ['on', 'auto\n', 'off'],
  },
  {
    name: 'power/autosuspend_delay_ms',
    path: /\/power\/autosuspend_delay_ms$/,
    grammar: 'EIO unless the driver uses autosuspend (none here); then kstrtol base 10',
    source: 'autosuspend_delay_ms_store(), drivers/base/power/sysfs.c',
    errnos: ['EIO', 'EINVAL', 'ENODEV'],
    seeds: ['100', '-1'],
  },
  {
    name: 'cpu online',
    path: /\/sys\/devices\/system\/cpu\/cpu\d+\/online$/,
    grammar: 'kstrtobool (differs: going offline is taken and not modelled)',
    source: 'online_store(), drivers/base/core.c',
    errnos: ['EINVAL', 'EBUSY', 'ENODEV'],
    seeds: ['1', '0', 'y\n'],
  },
  {
    name: 'node compact',
    path: /\/sys\/devices\/system\/node\/node\d+\/compact$/,
    grammar: 'anything: compacts the node',
    source: 'compact_store(), mm/compaction.c',
    errnos: ['ENODEV'],
    seeds: ['1'],
  },
  {
    name: 'reset_controller',
    path: /\/nvme\/nvme\d+\/reset_controller$/,
    grammar: 'anything: resets the controller',
    source: 'nvme_sysfs_reset(), drivers/nvme/host/sysfs.c',
    errnos: ['EBUSY', 'ENODEV'],
    seeds: ['1'],
  },
  {
    name: 'rescan_controller',
    path: /\/nvme\/nvme\d+\/rescan_controller$/,
    grammar: 'anything: rescans the namespaces',
    source: 'nvme_sysfs_rescan(), drivers/nvme/host/sysfs.c',
    errnos: ['ENODEV'],
    seeds: ['1'],
  },
  {
    name: 'passthru_err_log_enabled',
    path: /\/passthru_err_log_enabled$/,
    grammar: 'kstrtobool',
    source: 'nvme_passthru_err_log_enabled_store(), nvme_disk_passthru_err_log_enabled_store(), drivers/nvme/host/sysfs.c',
    errnos: ['EINVAL', 'ENODEV'],
    seeds: ['on', 'off\n', '1', '0'],
  },
  {
    name: 'events_poll_msecs',
    path: /\/events_poll_msecs$/,
    grammar: 'a number (sscanf %ld) of -1 or more, then ENODEV: an NVMe disk has no media events',
    source: 'disk_events_poll_msecs_store(), block/disk-events.c',
    errnos: ['EINVAL', 'ENODEV'],
    seeds: ['-1', '2000', '0'],
  },
  {
    name: 'block queue',
    path: /\/queue\/[a-z_]+$/,
    grammar: 'kstrtoul base 10 up to UINT_MAX (wbt_lat_usec, io_poll_delay: kstrtoll, -1 or more); scheduler and write_cache by name',
    source: 'queue_var_store() and the queue_*_store() functions, block/blk-sysfs.c; elv_iosched_store(), block/elevator.c',
    errnos: ['EINVAL', 'ENODEV'],
    seeds: ['0', '1', '128', '-1', 'none', 'mq-deadline', 'write through', 'write back'],
  },
  {
    name: 'config',
    path: /\/sys\/devices\/.*\/config$/,
    grammar: 'bytes at an offset: registers that hardware keeps are written, the rest reads back unchanged; cut at the size',
    source: 'pci_write_config(), drivers/pci/pci-sysfs.c; sysfs_kf_bin_write(), fs/sysfs/file.c',
    errnos: ['EFBIG', 'EPERM', 'ENODEV'],
    seeds: [],
    binary: true,
  },
  {
    name: 'resourceN',
    // resourceN_wc is the same file under a second name (native-notes/sysfs-tree.md)
    path: /\/sys\/devices\/.*\/resource\d(_wc)?$/,
    grammar: 'bytes at an offset into the BAR, `resourceN_wc` the same (differs: the kernel has no write for memory BARs, only mmap)',
    source: 'pci_create_resource_files(), drivers/pci/pci-sysfs.c; sysfs_kf_bin_write(), fs/sysfs/file.c',
    errnos: ['EFBIG', 'EIO', 'ENODEV'],
    seeds: [],
    binary: true,
  },
  {
    name: 'allocate',
    path: /\/p2pmem\/allocate$/,
    grammar: 'none: only mmap allocates',
    source: 'p2pmem_alloc_mmap(), drivers/pci/p2pdma.c; sysfs_kf_bin_write(), fs/sysfs/file.c',
    errnos: ['EIO', 'EFBIG', 'ENODEV'],
    seeds: [],
    binary: true,
  },
  {
    name: 'bind',
    path: /\/sys\/bus\/pci\/drivers\/[^/]+\/bind$/,
    grammar: 'a device name exactly (sysfs_streq: one trailing newline, a NUL ends it)',
    source: 'bind_store(), drivers/base/bus.c → device_driver_attach(), drivers/base/dd.c',
    errnos: ['ENODEV', 'EBUSY'],
    seeds: ['{BDF}', '{BDF}\n', '{NAME}', '{BDF}\0x'],
  },
  {
    name: 'unbind',
    path: /\/sys\/bus\/pci\/drivers\/[^/]+\/unbind$/,
    grammar: 'a device name exactly (sysfs_streq: one trailing newline, a NUL ends it)',
    source: 'unbind_store(), drivers/base/bus.c → device_driver_detach(), drivers/base/dd.c',
    errnos: ['ENODEV'],
    seeds: ['{BDF}', '{BDF}\n', '{NAME}'],
  },
  {
    name: 'bus and driver uevent',
    path: /\/sys\/bus\/pci\/(drivers\/[^/]+\/)?uevent$/,
    grammar: 'as a device\'s uevent: ACTION [UUID [KEY=VALUE ...]]',
    source: 'bus_uevent_store(), drv_uevent_store(), drivers/base/bus.c → kobject_synth_uevent(), lib/kobject_uevent.c',
    errnos: ['EINVAL', 'ENODEV'],
    seeds: ['add', 'change\n', 'add 4a4a4a4a-0000-1111-2222-333344445555 A=1'],
  },
  {
    name: 'bus rescan',
    path: /\/sys\/bus\/pci\/rescan$/,
    grammar: 'kstrtoul, base 0: non-zero rescans every bus',
    source: 'rescan_store(), drivers/pci/pci-sysfs.c',
    errnos: ['EINVAL', 'ENODEV'],
    seeds: NUMBERS,
  },
  {
    name: 'drivers_probe',
    path: /\/sys\/bus\/pci\/drivers_probe$/,
    grammar: 'a device name exactly (sysfs_streq): an unbound device gets a matching driver',
    source: 'drivers_probe_store(), drivers/base/bus.c',
    errnos: ['ENODEV', 'EINVAL', 'EBUSY'],
    seeds: ['{BDF}', '{BDF}\n'],
  },
  {
    name: 'drivers_autoprobe',
    path: /\/sys\/bus\/pci\/drivers_autoprobe$/,
    grammar: 'anything; a first character 0 turns automatic probing off, anything else on',
    source: 'drivers_autoprobe_store(), drivers/base/bus.c',
    errnos: ['ENODEV'],
    seeds: ['0', '1'],
  },
  {
    name: 'resource_alignment',
    path: /\/sys\/bus\/pci\/resource_alignment$/,
    grammar: 'anything shorter than a page (applies at the next boot)',
    source: 'resource_alignment_store(), drivers/pci/pci.c',
    errnos: ['EINVAL', 'ENODEV'],
    seeds: ['', '4@{BDF}'],
  },
  {
    name: 'new_id',
    path: /\/sys\/bus\/pci\/drivers\/[^/]+\/new_id$/,
    grammar: 'VENDOR DEVICE [SUBVENDOR SUBDEVICE CLASS CLASS_MASK [DRIVER_DATA]] in hex',
    source: 'new_id_store(), drivers/pci/pci-driver.c',
    errnos: ['EINVAL', 'EEXIST', 'ENODEV'],
    seeds: ['ffff ffff', '144d a824', 'ffff ffff ffffffff ffffffff 0 0'],
  },
  {
    name: 'remove_id',
    path: /\/sys\/bus\/pci\/drivers\/[^/]+\/remove_id$/,
    grammar: 'VENDOR DEVICE [SUBVENDOR SUBDEVICE CLASS CLASS_MASK] in hex, of an ID new_id added',
    source: 'remove_id_store(), drivers/pci/pci-driver.c',
    errnos: ['EINVAL', 'ENODEV'],
    seeds: ['ffff ffff', '144d a824'],
  },
  {
    name: 'debugfs dma',
    path: /\/sys\/kernel\/debug\/p2pemu\/dma$/,
    grammar: 'commands, one per line (blank and # lines skipped): read BDF BAR OFFSET LEN | write BDF BAR OFFSET HEX; at most 64 KiB per write',
    source: 'invented; batch semantics of ddebug_proc_write(), lib/dynamic_debug.c',
    errnos: ['E2BIG', 'EINVAL', 'ENODEV'],
    seeds: ['read {BDF} 1 0 16', 'write {BDF} 1 4096 c0ffee', 'read {BDF} 0 0 4096\nread {BDF} 2 64 8', 'write {BDF} 0 0 00'],
    stateful: true,
  },
  {
    name: 'debugfs dmabuf',
    path: /\/sys\/kernel\/debug\/p2pemu\/dmabuf$/,
    grammar: 'commands, one per line: export BDF BYTES | attach BUF BDF static|dynamic|p2p | map ATT | detach ATT | close BUF | revoke BDF; at most 64 KiB per write',
    source: 'invented; dma_buf_dynamic_attach(), dma_buf_map_attachment(), dma_buf_detach(), dma_buf_put(), drivers/dma-buf/dma-buf.c',
    errnos: ['E2BIG', 'EINVAL', 'ENODEV', 'ENOENT', 'ENOMEM', 'EOPNOTSUPP'],
    seeds: ['export {BDF} 65536', 'attach {ID} {BDF} p2p', 'attach {ID} {BDF} static', 'map {ID}', 'detach {ID}', 'close {ID}', 'revoke {BDF}'],
    stateful: true,
  },
  {
    name: 'dev/kmsg',
    path: /\/dev\/kmsg$/,
    grammar: 'one record per write, at most 1024 bytes: an optional <N> (facility << 3 | level), the text up to a NUL, one trailing newline dropped',
    source: 'devkmsg_write(), kernel/printk/printk.c',
    errnos: ['EINVAL'],
    seeds: ['<6>hello', 'hello\n', '<12>a\nb', '<9>x', '<>y', 'z\0hidden'],
  },
  {
    name: 'dev/hmm_dmirrorN',
    path: /\/dev\/hmm_dmirror\d+$/,
    grammar: 'commands, one per line: mirror|migrate_to_dev|migrate_to_sys|snapshot|read|write ADDR NPAGES | fault DEV ADDR NPAGES [p2p]; at most 64 KiB per write',
    source: 'invented; dmirror_fops_unlocked_ioctl(), dmirror_migrate(), dmirror_fault(), dmirror_snapshot(), lib/test_hmm.c',
    errnos: ['E2BIG', 'EINVAL', 'EFAULT', 'EPERM', 'ENOMEM', 'ENODEV'],
    seeds: ['mirror {ADDR} 16', 'migrate_to_dev {ADDR} 16', 'migrate_to_sys {ADDR} 8', 'snapshot {ADDR} 16', 'read {ADDR} 4', 'write {ADDR} 4', 'fault nic0 {ADDR} 8 p2p'],
    stateful: true,
  },
  {
    name: 'dev/nvmeX',
    path: /\/dev\/(nvme\d+|ng\d+n\d+)$/,
    grammar: 'none: the controller and the generic namespace devices have no write',
    source: 'nvme_dev_fops, drivers/nvme/host/core.c (no .write: vfs_write() says EINVAL)',
    errnos: ['EINVAL'],
    seeds: ['x'],
  },
  {
    name: 'dev/nvmeXnY',
    path: /\/dev\/nvme\d+n\d+$/,
    grammar: 'bytes at an offset, as a block device: past the end ENOSPC',
    source: 'blkdev_write_iter(), block/fops.c',
    errnos: ['ENOSPC'],
    seeds: [],
    binary: true,
  },
];

/** Where an ioctl lands, by kind of node, and what the kernel answers a command it does not know with. */
export interface IoctlClass {
  name: string;
  path: RegExp;
  source: string;
  /** errnos an ioctl can fail with (EFAULT only counts where the argument was not writable memory) */
  errnos: string[];
}

export const IOCTL_CLASSES: IoctlClass[] = [
  { name: 'sysfs attribute', path: /\/sys\/devices\/.*\/(vendor|uevent|enable|config|resource\d)$/, source: 'kernfs has no ioctl: vfs_ioctl(), fs/ioctl.c', errnos: ['ENOTTY'] },
  { name: 'p2pmem allocate', path: /\/p2pmem\/allocate$/, source: 'kernfs has no ioctl: vfs_ioctl(), fs/ioctl.c', errnos: ['ENOTTY'] },
  { name: 'debugfs file', path: /\/sys\/kernel\/debug\/p2pemu\/(dma|dmabuf|pools)$/, source: 'no ioctl in the file operations: vfs_ioctl(), fs/ioctl.c', errnos: ['ENOTTY'] },
  { name: 'dev/kmsg', path: /\/dev\/kmsg$/, source: 'kmsg_fops has no ioctl: vfs_ioctl(), fs/ioctl.c', errnos: ['ENOTTY'] },
  { name: 'dev/hmm_dmirrorN', path: /\/dev\/hmm_dmirror\d+$/, source: 'dmirror_fops_unlocked_ioctl(), lib/test_hmm.c (EINVAL for commands it does not take)', errnos: ['EINVAL'] },
  { name: 'dev/nvmeX', path: /\/dev\/(nvme\d+|ng\d+n\d+)$/, source: 'nvme_dev_ioctl(), nvme_ns_chr_ioctl(), drivers/nvme/host/ioctl.c', errnos: ['ENOTTY', 'EINVAL', 'EACCES', 'EPERM', 'EFAULT', 'EINTR'] },
  { name: 'dev/nvmeXnY', path: /\/dev\/nvme\d+n\d+$/, source: 'blkdev_ioctl(), block/ioctl.c; nvme_ioctl(), drivers/nvme/host/ioctl.c', errnos: ['ENOTTY', 'EINVAL', 'EACCES', 'EPERM', 'EFAULT', 'EINTR'] },
];
