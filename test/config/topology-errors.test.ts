import { describe, expect, test } from 'vitest';
import { parseTopology } from '../../src/config/parse-topology.js';
import { parseSize } from '../../src/config/sizes.js';
import { enumerate } from '../../src/model/pci/index.js';
import { DEFAULT_TOPOLOGY_YAML } from '../../src/config/default-topology.js';

/** The one-line error a bad topology produces (parse, then enumerate). */
function errorOf(yaml: string): string {
  try {
    enumerate(parseTopology('t.yaml', yaml));
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
      /^t\.yaml:6:9: bus conflict: bus 03 .* already taken|depth-first enumeration has reached bus 05/,
    ],
    [
      'bus conflict between host bridges',
      'host_bridges:\n  - bus: 0\n    children:\n      - kind: root_port\n        slot: "01.0"\n        bus: 0x20\n  - bus: 0x10\n    children: []\n',
      /^t\.yaml:7:5: bus conflict: root bus 10 lies inside the bus range of host bridge hb0/,
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
});

test('the embedded default topology parses and enumerates', () => {
  const host = enumerate(parseTopology('default', DEFAULT_TOPOLOGY_YAML));
  expect(host.devices.map((d) => `${d.bdf} ${d.name}`)).toContain('0000:81:00.0 accel0');
});
