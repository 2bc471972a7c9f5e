// The architecture of native-notes/architecture.md, checked on the source:
// every arrow between layers (and nothing else), imports only through a
// layer's index.ts, and each "never" of DESIGN.md.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, test } from 'vitest';

const SRC = resolve(__dirname, '../../src');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

const layerOf = (path: string) => relative(SRC, path).split('/')[0]!.replace(/\.(ts|js)$/, '');

/** Which layers each layer may import (besides itself and the errno.ts leaf). */
const ARROWS: Record<string, string[]> = {
  cli: ['daemon', 'model', 'config', 'caller-memory', 'seccomp'],
  daemon: ['vfs', 'fuse', 'memory', 'model', 'config', 'caller-memory'],
  vfs: ['model', 'memory', 'config', 'caller-memory', 'fs-types'],
  // reader threads map backing files (memory/mmap.ts); SETATTR asks which syscall the caller is in
  fuse: ['memory', 'caller-memory', 'fs-types'],
  // p2pemu run's supervisor: the mmap intent it sends the tree (through the mount) is the vfs's encoding
  seccomp: ['vfs', 'caller-memory'],
  model: ['config'],
  memory: [],
  config: [],
  'caller-memory': [],
  'fs-types': [],
  errno: [],
};

const sources = files(SRC).map((f) => ({ f, rel: relative(SRC, f), layer: layerOf(f), text: readFileSync(f, 'utf8') }));

/** Every relative import of a file: the resolved target and the specifier as written. */
function importsOf(f: string, text: string): { target: string; spec: string }[] {
  return [...text.matchAll(/from\s+'(\.{1,2}\/[^']+)'/g)].map((m) => ({ spec: m[1]!, target: resolve(dirname(f), m[1]!) }));
}

describe('layers', () => {
  test('every source file belongs to a known layer', () => {
    expect([...new Set(sources.map((s) => s.layer))].filter((l) => !(l in ARROWS))).toEqual([]);
  });

  test('every import between layers follows an arrow', () => {
    const bad: string[] = [];
    for (const s of sources) {
      for (const i of importsOf(s.f, s.text)) {
        const to = layerOf(i.target);
        if (to !== s.layer && to !== 'errno' && !ARROWS[s.layer]!.includes(to)) bad.push(`${s.rel} → ${to} (${i.spec})`);
      }
    }
    expect(bad).toEqual([]);
  });

  test('another layer is imported only through its index.ts', () => {
    const bad: string[] = [];
    for (const s of sources) {
      for (const i of importsOf(s.f, s.text)) {
        const to = layerOf(i.target);
        const leaf = to === 'errno' || to === 'fs-types';
        if (to !== s.layer && !leaf && relative(SRC, i.target) !== `${to}/index.js`) bad.push(`${s.rel}: ${i.spec}`);
      }
    }
    expect(bad).toEqual([]);
  });

  test('each arrow is there for a reason: every allowed pair is used', () => {
    const used = new Set(sources.flatMap((s) => importsOf(s.f, s.text).map((i) => `${s.layer}→${layerOf(i.target)}`)));
    const unused = Object.entries(ARROWS).flatMap(([from, tos]) => tos.filter((to) => !used.has(`${from}→${to}`)).map((to) => `${from}→${to}`));
    expect(unused).toEqual([]);
  });
});

describe('what a layer never does', () => {
  const of = (layer: string) => sources.filter((s) => s.layer === layer);

  test('fuse knows no PCI or sysfs', () => {
    for (const { rel, text } of of('fuse')) expect(text, rel).not.toMatch(/sysfs|\bpci\b|p2pdma|p2pmem/i);
  });

  test('vfs knows no FUSE wire format', () => {
    for (const { rel, text } of of('vfs')) expect(text, rel).not.toMatch(/\bFUSE_[A-Z]|fuse_(in|out)_header|(?<![A-Za-z])Opcode\./);
  });

  test('the model knows no paths: no file system, no /proc, /sys or /dev path', () => {
    for (const { rel, text } of of('model')) {
      expect(text, rel).not.toMatch(/from 'node:(fs|path|child_process)'/);
      expect(text, rel).not.toMatch(/['`]\/(proc|sys|dev)\//);
    }
  });

  test('no model decision in the vfs: map types, GUP and the I/O decision are asked of the model, never made here', () => {
    for (const { rel, text } of of('vfs')) {
      expect(text, rel).not.toMatch(/calcMapTypeAndDist|\bdecideIo\b|checkVmaFlags|vmaFlagsRefusal|\.mapType\(|distanceMany|'EREMOTEIO'/);
    }
  });

  test('only caller-memory reads /proc/PID; elsewhere only the mount table, the boot id, cpuinfo and our own open fds, which are no process\'s state', () => {
    // the mount table, the boot id, and the root `record` reads /proc/cpuinfo under (cli/replay/read-host.ts)
    const SYSTEM_WIDE = ['/proc/self/mountinfo', '/proc/mounts', '/proc/sys/kernel/random/boot_id', '/proc'];
    const OWN_FD = /^\/proc\/self\/fd\/\$\{\w+\}$/;
    const bad: string[] = [];
    for (const { rel, layer, text } of sources) {
      if (layer === 'caller-memory') continue;
      for (const m of text.matchAll(/['`](\/proc[^'`]*)['`]/g)) if (!SYSTEM_WIDE.includes(m[1]!) && !OWN_FD.test(m[1]!)) bad.push(`${rel}: ${m[1]}`);
      if (/readdirSync\('\/proc'\)/.test(text)) bad.push(`${rel}: lists /proc`);
    }
    expect(bad).toEqual([]);
  });

  test('the daemon edits no tree: nodes are made in the vfs', () => {
    for (const { rel, text } of of('daemon')) expect(text, rel).not.toMatch(/\.(dirs|text|bin|device|symlink)\(\s*(table\.root|dir\b)/);
  });
});
