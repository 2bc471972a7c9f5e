// Issue 9: no topology file, however mangled, may crash a command. Seeded
// mutations of two base topologies go through `p2pemu topo`: in process
// through the CLI's own entry point (main), plus a sample through the real
// binary. Each must exit 0 or 2 (one positioned line), never 1, never print a
// stack trace, and never take 5 s.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test, vi } from 'vitest';
import { main } from '../../src/cli/main.js';
import { DEFAULT_TOPOLOGY_YAML } from '../../src/config/default-topology.js';
import { CLI } from '../e2e/helpers.js';
import { mutateTopology, rng } from './topology-mutator.js';

const RICH = `name: rich
profile: userspace-p2pdma-rfc
cpu: { vendor: AuthenticAMD, family: 0x19, model: 1 }
iommu: true
numa: [{ node: 0, cpus: "0-3,8-11" }, { node: 1, cpus: 4-7 }]
host_bridges:
  - bus: 0x00
    numa_node: 1
    children:
      - kind: root_port
        slot: "01.0"
        bus: 0x10
        acs: [SV, RR, CR, UF]
        link: { speed: 16, width: 16 }
        children:
          - kind: switch
            ports:
              - slot: "00.0"
                acs: [SV]
                bus: 0x20
                children:
                  - kind: nvme
                    cmb: { size: 64MiB, bar: 2, offset: 1MiB, flags: [SQS, RDS, WDS], devmap_align: 2MiB }
                    namespaces: [{ nsid: 1, size: 1GiB, lba: 4096 }, { nsid: 2, size: 64MiB }]
              - slot: "00.1"
                children:
                  - kind: accelerator
                    bars: [{ index: 0, size: 16MiB, bits: 32 }, { index: 2, size: 32GiB }]
                    p2pmem: { bar: 2, offset: 1GiB, size: 2GiB, folios: best-effort, align: 1GiB }
                    device_private: 2GiB
      - kind: nic
        slot: "02.0"
        driver: none
      - kind: p2pmem
        slot: "02.1"
        p2pmem: { bar: 4, folios: device-align, align: 2MiB }
`;

const IN_PROCESS = 1000;
const THROUGH_BINARY = 50;
const LIMIT_MS = 5000;
const dir = mkdtempSync(join(tmpdir(), 'p2pemu-fuzz-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** The same seeds give the same files: a failure names the seed to replay. */
function corpus(seed: number, count: number): string[] {
  const r = rng(seed);
  return Array.from({ length: count }, (_, i) => {
    const file = join(dir, `s${seed}-${i}.yaml`);
    writeFileSync(file, mutateTopology(i % 2 ? RICH : DEFAULT_TOPOLOGY_YAML, r));
    return file;
  });
}

interface Outcome {
  file: string;
  code: number;
  stderr: string;
  ms: number;
}

/** What a user would call a crash: exit 1, a stack trace, more than one line, an unpositioned error, or slowness. */
function problemOf(o: Outcome): string | undefined {
  if (o.code !== 0 && o.code !== 2) return `exit ${o.code}`;
  if (/^\s+at /m.test(o.stderr)) return 'stack trace';
  if (o.ms > LIMIT_MS) return `took ${o.ms} ms`;
  if (o.code === 2) {
    const lines = o.stderr.trimEnd().split('\n');
    if (lines.length !== 1) return `${lines.length} lines`;
    if (!lines[0]!.startsWith(`p2pemu: ${o.file}:`) || !/^p2pemu: \S+:\d+:\d+: /.test(lines[0]!)) return 'no FILE:LINE:COL';
  }
  return undefined;
}

async function inProcess(file: string, extra: string[]): Promise<Outcome> {
  let stderr = '';
  const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
  const err = vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => void (stderr += `${a.join(' ')}\n`));
  const start = performance.now();
  let code: number;
  try {
    code = await main(['topo', '--topology', file, ...extra]);
  } catch (e) {
    code = 1;
    stderr += `${(e as Error).stack}\n`;
  } finally {
    out.mockRestore();
    log.mockRestore();
    err.mockRestore();
  }
  return { file, code, stderr, ms: performance.now() - start };
}

function throughBinary(file: string): Promise<Outcome> {
  const start = performance.now();
  return new Promise((res) => {
    const child = spawn(process.execPath, [CLI, 'topo', '--topology', file, '--matrix'], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000 });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => res({ file, code: code ?? 1, stderr, ms: performance.now() - start }));
  });
}

describe('p2pemu topo on mutated topologies', () => {
  test(`${IN_PROCESS} mutations through the CLI entry point: exit 0 or 2 with one positioned line, never a crash`, async () => {
    const bad: string[] = [];
    const codes = { 0: 0, 2: 0 };
    for (const [i, file] of corpus(9, IN_PROCESS).entries()) {
      const o = await inProcess(file, i % 4 === 0 ? ['--matrix'] : i % 4 === 1 ? ['--format', 'json'] : []);
      const problem = problemOf(o);
      if (problem) bad.push(`${file}: ${problem}: ${o.stderr.slice(0, 300)}`);
      else codes[o.code as 0 | 2]++;
    }
    expect(bad).toEqual([]);
    // the corpus must exercise both outcomes, or it tests nothing
    expect(codes[0]).toBeGreaterThan(IN_PROCESS / 20);
    expect(codes[2]).toBeGreaterThan(IN_PROCESS / 4);
  }, 120_000);

  test(`${THROUGH_BINARY} mutations through the real binary behave the same`, async () => {
    const files = corpus(10, THROUGH_BINARY);
    const outcomes: Outcome[] = [];
    // four at a time: each is a Node start-up
    for (let i = 0; i < files.length; i += 4) outcomes.push(...(await Promise.all(files.slice(i, i + 4).map(throughBinary))));
    // a start-up on a loaded machine is not the command being slow: judge only exit and output here
    const bad = outcomes.map((o) => ({ o, p: problemOf({ ...o, ms: 0 }) })).filter((x) => x.p).map((x) => `${x.o.file}: ${x.p}: ${x.o.stderr.slice(0, 300)}`);
    expect(bad).toEqual([]);
    expect(outcomes.filter((o) => o.code === 2).length).toBeGreaterThan(THROUGH_BINARY / 4);
  }, 120_000);
});
