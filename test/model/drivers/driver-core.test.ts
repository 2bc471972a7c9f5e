// kernel: device_lock(), device_release_driver(), pci_stop_and_remove_bus_device_locked(),
// memunmap_pages(): teardown interleavings that real processes only hit by chance,
// made deterministic by holding the provider's teardown open.
import { describe, expect, test } from 'vitest';
import { DEFAULT_TOPOLOGY_YAML } from '../../../src/config/default-topology.js';
import { parseTopology } from '../../../src/config/parse-topology.js';
import { DmaBufCore } from '../../../src/model/dmabuf/dmabuf.js';
import { bootHostModel } from '../../../src/model/host-model.js';

/** A booted default host whose providers' mapping teardown waits until `open()` is called. */
function heldTeardown() {
  const m = bootHostModel(parseTopology('default', DEFAULT_TOPOLOGY_YAML));
  const events: string[] = [];
  let open!: () => void;
  const gate = new Promise<void>((res) => (open = res));
  m.p2pdma.events = { unmapMappings: () => gate };
  m.drivers.events = {
    unbound: (dev) => events.push(`unbound ${dev.name}`),
    removed: (dev) => events.push(`removed ${dev.name}`),
  };
  return { m, events, open };
}

const settle = (p: Promise<unknown>) => p.then(() => 'ok', (e: { code?: string }) => e.code ?? String(e));

describe('unbind, remove and exports racing one provider', () => {
  test.each(['unbind', 'remove'])('unbind and remove of one device at once, %s first: one teardown, unbound before removed, the other ENODEV or a no-op', async (first) => {
    const { m, events, open } = heldTeardown();
    const dev = m.pci.find('p2pmem0')!;
    const ops = { unbind: () => m.drivers.unbind(dev, 'p2pmem_pci'), remove: () => m.drivers.remove(dev) };
    const started: Record<string, Promise<string>> = {};
    for (const name of first === 'unbind' ? ['unbind', 'remove'] : ['remove', 'unbind']) started[name] = settle(ops[name as 'unbind' | 'remove']());
    await new Promise((res) => setImmediate(res));
    open();
    // the removal always succeeds; an unbind that waited for it finds the device gone
    expect(await started.remove).toBe('ok');
    expect(['ok', 'ENODEV']).toContain(await started.unbind);
    expect(events).toEqual(['unbound p2pmem0', 'removed p2pmem0']);
  });

  test('an export landing while the mappings are being zapped is refused, and the unbind completes', async () => {
    const { m, open } = heldTeardown();
    const dmabufs = new DmaBufCore(m.p2pdma, m.klog, false);
    const accel = m.pci.find('accel0')!;
    const unbind = settle(m.drivers.unbind(accel));
    await new Promise((res) => setImmediate(res));
    expect(() => dmabufs.export(accel, 4096, 'system-memory')).toThrow(expect.objectContaining({ code: 'ENODEV' }));
    open();
    expect(await unbind).toBe('ok');
  });
});
