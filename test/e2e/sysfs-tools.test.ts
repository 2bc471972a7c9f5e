// The sysfs that storage and topology tools read (lspci, lsblk, libnvme,
// hwloc), file by file against the kernel's formats; rescan, driver_override,
// new_id and drivers_autoprobe as the driver core does them.

import { afterAll, beforeAll, expect, test } from 'vitest';
import { canMount, describeMount, LSPCI, mountTopology, sh, type Mount } from './helpers.js';

let m: Mount;
beforeAll(() => {
  if (canMount()) m = mountTopology();
});
afterAll(() => m?.unmount());

const sys = (p: string) => `${m.mnt}/sys/${p}`;
const cat = (p: string) => sh(`cat '${sys(p)}'`).stdout;
const pci = (bdf: string, f = '') => sys(`bus/pci/devices/${bdf}${f ? `/${f}` : ''}`);

describeMount('PCI device files as pci-sysfs.c writes them', () => {
  test('the host bridge: 4096 config bytes, pin 0 and irq 0, no Interrupt line in lspci; d3cold_allowed 0 without power management', () => {
    expect(sh(`stat -c %s '${pci('0000:00:00.0', 'config')}'`).stdout).toBe('4096\n');
    expect(sh(`cat '${pci('0000:00:00.0', 'irq')}' '${pci('0000:00:00.0', 'd3cold_allowed')}' '${pci('0000:03:00.0', 'd3cold_allowed')}'`).stdout).toBe('0\n0\n1\n');
    expect(LSPCI(m, '-v -s 00:00.0')).not.toMatch(/Interrupt/);
  });

  test('MSI on a port shows its vector in irq and msi_irqs/; an NVMe has one MSI-X vector per queue and irq shows INTx', () => {
    const irq = cat('bus/pci/devices/0000:02:00.0/irq').trim();
    expect(sh(`ls '${pci('0000:02:00.0', 'msi_irqs')}'`).stdout.trim()).toBe(irq);
    expect(cat(`bus/pci/devices/0000:02:00.0/msi_irqs/${irq}`)).toBe('msi\n');
    const vectors = sh(`ls '${pci('0000:03:00.0', 'msi_irqs')}'`).stdout.trim().split('\n');
    expect(vectors).toHaveLength(5);
    expect(sh(`cat '${pci('0000:03:00.0', 'msi_irqs')}'/* | sort -u`).stdout).toBe('msix\n');
    expect(LSPCI(m, '-vv -s 03:00.0')).toMatch(/MSI-X: Enable\+ Count=64 Masked-/);
    expect(LSPCI(m, '-vv -s 03:00.0')).toMatch(new RegExp(`Interrupt: pin A routed to IRQ ${cat('bus/pci/devices/0000:03:00.0/irq').trim()}`));
  });

  test('remove is 0220, rescan 0200, driver_override shows (null) and takes a name', () => {
    expect(sh(`stat -c %a '${pci('0000:03:00.0', 'remove')}' '${pci('0000:03:00.0', 'rescan')}'`).stdout).toBe('220\n200\n');
    expect(cat('bus/pci/devices/0000:82:00.0/driver_override')).toBe('(null)\n');
    sh(`echo p2pmem_pci > '${pci('0000:82:00.0', 'driver_override')}'`);
    expect(cat('bus/pci/devices/0000:82:00.0/driver_override')).toBe('p2pmem_pci\n');
    sh(`echo > '${pci('0000:82:00.0', 'driver_override')}'`);
    expect(cat('bus/pci/devices/0000:82:00.0/driver_override')).toBe('(null)\n');
  });

  test('power/ of a device: control, runtime_status, autosuspend_delay_ms EIO', () => {
    expect(sh(`cat '${pci('0000:03:00.0', 'power/control')}' '${pci('0000:03:00.0', 'power/runtime_status')}'`).stdout).toBe('on\nactive\n');
    expect(sh(`cat '${pci('0000:03:00.0', 'power/autosuspend_delay_ms')}' 2>&1`).stdout).toContain('Input/output error');
    // powertop's "Good" and tuned write auto; control_show() then says auto
    expect(sh(`echo auto > '${pci('0000:03:00.0', 'power/control')}' && cat '${pci('0000:03:00.0', 'power/control')}'; echo on > '${pci('0000:03:00.0', 'power/control')}'`).stdout).toBe('auto\n');
  });

  test('physical slots: slots/N/address names the bus below the port, lspci shows Physical Slot and SltCap', () => {
    const slot = LSPCI(m, '-v -s 04:00.0').match(/Physical Slot: (\d+)/)?.[1];
    expect(slot).toBeDefined();
    expect(cat(`bus/pci/slots/${slot}/address`)).toBe('0000:04:00\n');
    expect(cat(`bus/pci/slots/${slot}/max_bus_speed`)).toBe('16.0 GT/s PCIe\n');
    expect(LSPCI(m, '-vv -s 02:01.0')).toMatch(new RegExp(`Slot #${slot}, PowerLimit`));
  });

  test('bus files: drivers_autoprobe 1, resource_alignment empty, rescan and drivers_probe write-only', () => {
    expect(sh(`cat '${sys('bus/pci/drivers_autoprobe')}' '${sys('bus/pci/resource_alignment')}'; stat -c '%a' '${sys('bus/pci/rescan')}' '${sys('bus/pci/drivers_probe')}' '${sys('bus/pci/uevent')}'`).stdout).toBe('1\n200\n200\n200\n');
  });
});

describeMount('rescan, autoprobe, new_id: the driver core', () => {
  test('a removed device comes back with its driver on rescan (the NIC)', () => {
    sh(`echo 1 > '${pci('0000:82:00.0', 'remove')}'`);
    expect(sh(`ls '${sys('bus/pci/devices')}'`).stdout).not.toContain('0000:82:00.0');
    sh(`echo 1 > '${sys('bus/pci/rescan')}'`);
    expect(sh(`readlink '${pci('0000:82:00.0', 'driver')}'`).stdout).toMatch(/\/mlx5_core\n$/);
    expect(LSPCI(m, '-s 82:00.0')).toContain('Mellanox');
  });

  test('a removed NVMe comes back whole on rescan: controller, namespace, CMB as P2P memory', () => {
    sh(`echo 1 > '${pci('0000:06:00.0', 'remove')}'`);
    expect(sh(`ls '${m.mnt}/dev'`).stdout).not.toMatch(/^nvme2$/m);
    sh(`echo 1 > '${pci('0000:00:02.0', 'rescan')}'`);
    expect(sh(`ls '${m.mnt}/dev'`).stdout).toMatch(/^nvme2n1$/m);
    expect(cat('class/nvme/nvme2/address')).toBe('0000:06:00.0\n');
  });

  test('with drivers_autoprobe 0 a rescanned device stays unbound until drivers_probe', () => {
    sh(`echo 0 > '${sys('bus/pci/drivers_autoprobe')}'; echo 1 > '${pci('0000:82:00.0', 'remove')}'; echo 1 > '${sys('bus/pci/rescan')}'`);
    expect(sh(`ls '${pci('0000:82:00.0')}'`).stdout).not.toMatch(/^driver$/m);
    sh(`echo 0000:82:00.0 > '${sys('bus/pci/drivers_probe')}'; echo 1 > '${sys('bus/pci/drivers_autoprobe')}'`);
    expect(sh(`readlink '${pci('0000:82:00.0', 'driver')}'`).stdout).toMatch(/\/mlx5_core\n$/);
  });

  test('new_id binds an unbound device with those IDs; an ID the driver has is EEXIST; remove_id of an unknown one ENODEV', () => {
    sh(`echo 0000:82:00.0 > '${sys('bus/pci/drivers/mlx5_core/unbind')}'`);
    sh(`echo '15b3 101d' > '${sys('bus/pci/drivers/p2pmem_pci/new_id')}'`);
    expect(sh(`readlink '${pci('0000:82:00.0', 'driver')}'`).stdout).toMatch(/\/p2pmem_pci\n$/);
    expect(sh(`(echo '144d a824' > '${sys('bus/pci/drivers/nvme/new_id')}') 2>&1`).stdout).toContain('File exists');
    sh(`echo '15b3 101d' > '${sys('bus/pci/drivers/p2pmem_pci/remove_id')}'`);
    expect(sh(`(echo '15b3 101d' > '${sys('bus/pci/drivers/p2pmem_pci/remove_id')}') 2>&1`).stdout).toContain('No such device');
    sh(`echo 0000:82:00.0 > '${sys('bus/pci/drivers/p2pmem_pci/unbind')}'; echo 0000:82:00.0 > '${sys('bus/pci/drivers/mlx5_core/bind')}'`);
    expect(sh(`readlink '${pci('0000:82:00.0', 'driver')}'`).stdout).toMatch(/\/mlx5_core\n$/);
  });
});

describeMount('NVMe and block sysfs as libnvme and lsblk read it', () => {
  test('device links end in a name: nvme0 → ../../../0000:03:00.0, nvme0n1 → ../../nvme0', () => {
    expect(sh(`readlink '${sys('class/nvme/nvme0/device')}' '${sys('block/nvme0n1/device')}'`).stdout).toBe('../../../0000:03:00.0\n../../nvme0\n');
    expect(sh(`basename $(readlink '${sys('class/nvme/nvme0/device')}')`).stdout).toBe('0000:03:00.0\n');
  });

  test('dev/block/259:0 and dev/char/MAJ:MIN lead to the namespace and the controller', () => {
    const dev = cat('block/nvme0n1/dev').trim();
    expect(sh(`readlink -f '${sys(`dev/block/${dev}`)}'`).stdout.trim()).toBe(sh(`readlink -f '${sys('block/nvme0n1')}'`).stdout.trim());
    const cdev = cat('class/nvme/nvme0/dev').trim();
    expect(sh(`readlink -f '${sys(`dev/char/${cdev}`)}'`).stdout.trim()).toBe(sh(`readlink -f '${sys('class/nvme/nvme0')}'`).stdout.trim());
  });

  test('controller attributes libnvme reads, model/serial/firmware space-padded to 40/20/8', () => {
    const c = (f: string) => cat(`class/nvme/nvme0/${f}`);
    expect(c('model')).toBe(`${'SAMSUNG MZWLJ1T9HBJR-00007'.padEnd(40)}\n`);
    expect(c('serial')).toHaveLength(21);
    expect(c('firmware_rev')).toHaveLength(9);
    expect([c('transport'), c('state'), c('queue_count'), c('numa_node'), c('address'), c('cntrltype')]).toEqual(['pcie\n', 'live\n', '5\n', '0\n', '0000:03:00.0\n', 'io\n']);
    expect(c('subsysnqn')).toBe(cat('class/nvme-subsystem/nvme-subsys0/subsysnqn'));
    expect(sh(`readlink -f '${sys('class/nvme-subsystem/nvme-subsys0/nvme0')}'`).stdout.trim()).toBe(sh(`readlink -f '${sys('class/nvme/nvme0')}'`).stdout.trim());
  });

  test('gendisk files: uevent, range 0 / ext_range 256, capability 0, 17-field stat, holders/ and slaves/', () => {
    const d = (f: string) => cat(`block/nvme0n1/${f}`);
    expect(d('uevent')).toMatch(/^MAJOR=259\nMINOR=\d+\nDEVNAME=nvme0n1\nDEVTYPE=disk\nDISKSEQ=\d+\n$/);
    expect([d('range'), d('ext_range'), d('capability'), d('removable'), d('ro')]).toEqual(['0\n', '256\n', '0\n', '0\n', '0\n']);
    expect(d('stat').trim().split(/\s+/)).toHaveLength(17);
    expect(sh(`ls -d '${sys('block/nvme0n1/holders')}' '${sys('block/nvme0n1/slaves')}' | wc -l`).stdout.trim()).toBe('2');
  });

  test('queue/ holds the 48 attributes of a 6.18 disk, with the NVMe limits', () => {
    expect(sh(`ls '${sys('block/nvme0n1/queue')}' | wc -l`).stdout.trim()).toBe('48');
    const q = (f: string) => cat(`block/nvme0n1/queue/${f}`);
    expect([q('logical_block_size'), q('max_hw_sectors_kb'), q('scheduler'), q('rotational'), q('virt_boundary_mask')]).toEqual(['512\n', '2048\n', '[none] mq-deadline kyber bfq\n', '0\n', '4095\n']);
    sh(`echo mq-deadline > '${sys('block/nvme0n1/queue/scheduler')}'`);
    expect(q('scheduler')).toBe('none [mq-deadline] kyber bfq\n');
  });

  test('reads count in stat: sectors read grow by what dd read', () => {
    const before = Number(cat('block/nvme2n1/stat').trim().split(/\s+/)[2]);
    sh(`dd if='${m.mnt}/dev/nvme2n1' of=/dev/null bs=1M count=2 iflag=direct status=none`);
    expect(Number(cat('block/nvme2n1/stat').trim().split(/\s+/)[2]) - before).toBe(4096);
  });
});

describeMount('sys/devices/system follows the topology\'s numa: section', () => {
  test('cpu online/possible, node cpulists and masks, distances, cpu↔node links', () => {
    expect(cat('devices/system/cpu/online')).toBe('0-15\n');
    expect([cat('devices/system/node/online'), cat('devices/system/node/node1/cpulist'), cat('devices/system/node/node1/cpumap'), cat('devices/system/node/node0/distance')]).toEqual(['0-1\n', '8-15\n', 'ff00\n', '10 21\n']);
    expect(sh(`readlink '${sys('devices/system/cpu/cpu9/node1')}'`).stdout).toBe('../../node/node1\n');
    expect(cat('devices/system/cpu/cpu9/topology/physical_package_id')).toBe('1\n');
    expect(cat('devices/system/node/node0/meminfo')).toMatch(/^Node 0 MemTotal: +\d+ kB$/m);
  });
});
