import { describe, expect, test } from 'vitest';
import { parseTopology } from '../../src/config/parse-topology.js';
import { parseSize, parseSizeChecked } from '../../src/config/sizes.js';
import { enumerate } from '../../src/model/pci/index.js';
import { bootHostModel } from '../../src/model/host-model.js';
import { DEFAULT_TOPOLOGY_YAML } from '../../src/config/default-topology.js';

/** The one-line error a bad topology produces (parse, then boot: enumeration, resources, driver probe). */
function errorOf(yaml: string): string {
  try {
    bootHostModel(parseTopology('t.yaml', yaml));
  } catch (err) {
    return (err as Error).message;
  }
  return 'no error';
}

const rp = (children: string) => `host_bridges:\n  - children:\n      - kind: root_port\n        slot: "01.0"\n        children:\n${children}`;

describe('topology validation names file, line and problem', () => {
  test.each([
    ['unknown kind', rp('          - kind: gpu\n'), /^t\.yaml:6:19: .*unknown kind "gpu"/],
    ['bad size syntax', rp('          - kind: nvme\n            cmb: { size: 12XB }\n'), /^t\.yaml:7:26: .*bad size syntax "12XB"/],
    [
      'a BAR smaller than the CMB it holds',
      rp('          - kind: nvme\n            bars: [{ index: 2, size: 1MiB }]\n            cmb: { size: 64MiB, bar: 2 }\n'),
      /^t\.yaml:8:26: .*BAR 2 \(1MiB\) is smaller than the CMB it holds/,
    ],
    [
      'a BAR smaller than the P2P memory it holds',
      rp('          - kind: p2pmem\n            p2pmem: { bar: 4, size: 1GiB }\n'),
      /^t\.yaml:7:37: .*BAR 4 \(256MiB\) is smaller than the P2P memory/,
    ],
    [
      'duplicate BDF',
      'host_bridges:\n  - children:\n      - kind: nic\n        slot: "03.0"\n      - kind: nic\n        slot: "03.0"\n',
      /^t\.yaml:6:15: .*duplicate BDF: slot 03\.0 is already used at t\.yaml:3:9/,
    ],
    [
      'bus conflict between a fixed bus and enumeration',
      'host_bridges:\n  - children:\n      - kind: root_port\n        slot: "01.0"\n        bus: 5\n      - kind: root_port\n        slot: "02.0"\n        bus: 3\n',
      /^t\.yaml:8:14: host_bridges\[0\]\.children\[1\]\.bus: bus conflict: bus 03 .*depth-first enumeration has reached bus 05/,
    ],
    [
      'bus conflict between host bridges',
      'host_bridges:\n  - bus: 0\n    children:\n      - kind: root_port\n        slot: "01.0"\n        bus: 0x20\n  - bus: 0x10\n    children: []\n',
      /^t\.yaml:7:10: host_bridges\[1\]\.bus: bus conflict: root bus 10 lies inside the bus range of host bridge hb0/,
    ],
    // issue 9: each of these used to exit 1 (a stack trace in daemon.log) or say the wrong thing
    [
      'a root port without slot takes the host bridge\'s 00.0',
      'host_bridges:\n  - children:\n      - kind: root_port\n',
      /^t\.yaml:3:9: host_bridges\[0\]\.children\[0\]\.slot: slot 00\.0 of a root bus is the host bridge itself/,
    ],
    [
      'bus 0x00 on a second host bridge',
      'host_bridges:\n  - children: []\n  - bus: 0x00\n    children: []\n',
      /^t\.yaml:3:10: host_bridges\[1\]\.bus: bus conflict: root bus 00 lies inside the bus range of host bridge hb0/,
    ],
    ['a 1-byte CMB', rp('          - kind: nvme\n            cmb: { size: 1B }\n'), /^t\.yaml:7:26: .*cmb\.size: the CMB's size and offset must be multiples of 4KiB/],
    [
      'a CMB offset CMBLOC cannot express',
      rp('          - kind: nvme\n            cmb: { size: 64KiB, offset: 6KiB }\n'),
      /^t\.yaml:7:41: .*cmb\.offset: the CMB's size and offset must be multiples of 4KiB/,
    ],
    [
      '64-bit BARs over 4 TiB name the BAR that does not fit',
      rp('          - kind: accelerator\n            bars: [{ index: 0, size: 16MiB, bits: 32 }, { index: 2, size: 8TiB }]\n'),
      /^t\.yaml:7:75: host_bridges\[0\]\.children\[0\]\.children\[0\]\.bars\[1\]\.size: BAR 2 \(8TiB\) does not fit: the 64-bit BARs of host bridge hb0 need more than 4 TiB/,
    ],
    ['a size too large to count', rp('          - kind: accelerator\n            bars: [{ index: 0, size: 1000000TiB }]\n'), /^t\.yaml:7:38: .*bars\[0\]\.size: size "1000000TiB" is too large/],
    [
      'a CPU vendor the kernel does not know',
      'cpu: { vendor: amd }\nhost_bridges:\n  - children: []\n',
      /^t\.yaml:1:16: cpu\.vendor: unknown CPU vendor "amd" \(the kernel knows: "GenuineIntel", "AuthenticAMD", "HygonGenuine", "CentaurHauls", "  Shanghai  "\)/,
    ],
    ['a CPU beyond NR_CPUS', 'numa: [{ node: 1, cpus: 8-200000000 }]\nhost_bridges:\n  - children: []\n', /^t\.yaml:1:25: numa\[0\]\.cpus: CPU 200000000 is beyond NR_CPUS \(CPUs are numbered 0\.\.8191\)/],
    ['a cpu range that runs backwards', 'numa: [{ node: 0, cpus: 7-3 }]\nhost_bridges:\n  - children: []\n', /^t\.yaml:1:25: numa\[0\]\.cpus: cpu range 7-3 runs backwards/],
    [
      'a CPU in two NUMA nodes',
      'numa: [{ node: 0, cpus: 0-7 }, { node: 1, cpus: 4-11 }]\nhost_bridges:\n  - children: []\n',
      /^t\.yaml:1:49: numa\[1\]\.cpus: CPUs 4-11 already belong to NUMA node 0/,
    ],
    [
      'function 1 without function 0',
      'host_bridges:\n  - children:\n      - kind: nic\n        slot: "03.1"\n',
      /^t\.yaml:4:15: host_bridges\[0\]\.children\[0\]\.slot: function 1 of slot 03 has no function 0/,
    ],
    ['unknown key', 'host_bridges:\n  - colour: red\n', /^t\.yaml:2:5: host_bridges\[0\]\.colour: unknown key "colour"/],
    ['YAML syntax', 'host_bridges: [\n', /^t\.yaml:\d+:\d+: YAML syntax/],
    ['unknown ACS bit', rp('          - kind: switch\n            acs: [XX]\n            ports: [{ slot: "00.0" }]\n'), /unknown ACS control bit "XX"/],
    ['device number below a port', rp('          - kind: nvme\n            slot: "01.0"\n'), /a device below a PCIe port must be device 0/],
  ])('%s', (_name, yaml, expected) => {
    const msg = errorOf(yaml);
    expect(msg).toMatch(expected);
    expect(msg).not.toContain('\n');
  });
});

describe('sizes', () => {
  test.each([
    ['4096', 4096],
    ['64MiB', 64 * 2 ** 20],
    ['32 GiB', 32 * 2 ** 30],
    ['1T', 2 ** 40],
    ['16KB', 16384],
    ['0x1000', 4096],
  ])('%s is %i bytes', (text, bytes) => expect(parseSize(text)).toBe(bytes));

  test.each(['12XB', '-1', 'MiB', '1.5.2G'])('%s is refused', (text) => expect(parseSize(text)).toBeUndefined());

  test.each([
    ['12XB', 'syntax'],
    ['1000000TiB', 'too-large'],
    ['8192TiB', 'too-large'],
    ['8191TiB', 8191 * 2 ** 40],
  ])('%s is %s', (text, verdict) => expect(parseSizeChecked(text)).toBe(verdict));
});

test('the embedded default topology parses and enumerates', () => {
  const host = enumerate(parseTopology('default', DEFAULT_TOPOLOGY_YAML));
  expect(host.devices.map((d) => `${d.bdf} ${d.name}`)).toContain('0000:81:00.0 accel0');
});
