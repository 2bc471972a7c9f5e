import { describe, expect, test } from 'vitest';
import { DEFAULT_TOPOLOGY_YAML } from '../../src/config/default-topology.js';
import { parseTopology } from '../../src/config/parse-topology.js';
import { enumerate } from '../../src/model/pci/index.js';
import { kstrtobool, kstrtoint, kstrtoul } from '../../src/vfs/sysfs/kstrto.js';
import { cpulistText, cpumaskText, modaliasText, resourceText } from '../../src/vfs/sysfs/pci-format.js';

const host = enumerate(parseTopology('default', DEFAULT_TOPOLOGY_YAML));

describe('PCI attribute formats', () => {
  test('resource has 13 lines for an endpoint and 17 for a bridge', () => {
    expect(resourceText(host.find('nvme0')!).split('\n').filter(Boolean)).toHaveLength(13);
    expect(resourceText(host.find('rp0')!).split('\n').filter(Boolean)).toHaveLength(17);
  });

  test('resource flags: 64-bit non-prefetchable 0x140204, 64-bit prefetchable 0x14220c, 32-bit 0x40200', () => {
    const lines = resourceText(host.find('accel0')!).split('\n');
    expect(lines[0]).toMatch(/ 0x0000000000040200$/);
    expect(lines[1]).toMatch(/^0x0000080000000000 0x00000807ffffffff 0x000000000014220c$/);
    expect(resourceText(host.find('nvme0')!).split('\n')[0]).toMatch(/ 0x0000000000140204$/);
  });

  test('modalias spells IDs in upper-case hex with 8 digits', () => {
    expect(modaliasText(host.find('nvme0')!)).toBe('pci:v0000144Dd0000A824sv0000144Dsd0000A801bc01sc08i02\n');
  });

  test('cpumask in 32-bit comma groups as wide as nr_cpu_ids, cpulist as ranges', () => {
    expect(cpumaskText([[8, 15]], 16)).toBe('ff00\n');
    expect(cpumaskText([[0, 1]], 40)).toBe('00,00000003\n');
    expect(cpumaskText([[31, 32]], 33)).toBe('1,80000000\n');
    expect(cpulistText([[0, 3], [8, 8], [10, 11]])).toBe('0-3,8,10-11\n');
  });
});

describe('kstrto* parse attribute writes as the kernel does', () => {
  test.each([
    ['1\n', 1],
    ['0x10', 16],
    ['010', 8],
    ['+7', 7],
  ])('kstrtoul(%j) = %i', (s, v) => expect(kstrtoul(s)).toBe(v));

  test.each(['', 'abc', '1 2', '-1', '1\n\n', ' 1'])('kstrtoul(%j) fails with EINVAL', (s) => {
    expect(() => kstrtoul(s)).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  });

  test('kstrtoint accepts a sign and refuses out-of-range values with ERANGE', () => {
    expect(kstrtoint('-1\n')).toBe(-1);
    expect(() => kstrtoint('4294967296')).toThrow(expect.objectContaining({ code: 'ERANGE' }));
  });

  test('kstrtobool takes y/n/1/0/on/off', () => {
    expect([kstrtobool('Y'), kstrtobool('0'), kstrtobool('on'), kstrtobool('off')]).toEqual([true, false, true, false]);
    expect(() => kstrtobool('maybe')).toThrow(expect.objectContaining({ code: 'EINVAL' }));
  });
});
