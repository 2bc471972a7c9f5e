// Seeded mutations of topology YAML for the fuzz test: values swapped for
// edge cases, keys dropped or added, list items duplicated, kinds changed,
// text cut short. Deterministic for a seed, so a failure can be replayed.

import { isMap, isScalar, isSeq, parseDocument, type Document, type Node } from 'yaml';

/** mulberry32: small, seedable, good enough to pick mutations */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const EDGE_VALUES: unknown[] = [
  0, 1, -1, 2, 5, 6, 7, 8, 15, 16, 31, 32, 255, 256, 0xffff, 0x10000, 2 ** 32, 2 ** 53, 1e308, 2.5, -0.5,
  '', 'abc', '0x', '0xffffffffffffffff', '1B', '16B', '4KiB', '64MiB', '1GiB', '4TiB', '8TiB', '1000000TiB', '16EiB', '12XB', '-4KiB',
  '00.0', '01.0', '1f.7', '20.0', '01.8', 'zz', '0-7', '8-200000000', '7-3', '0-8191', '8192', '0,0', '1-2-3',
  'amd', 'AuthenticAMD', 'HygonGenuine', 'GenuineIntel', 'mainline', 'hmm-allow-p2p', 'none',
  'nvme', 'switch', 'root_port', 'accelerator', 'nic', 'p2pmem', 'gpu',
  'base', 'device-align', 'best-effort', 'SQS', 'XX', 'SV', 'DT',
  null, true, false, '9'.repeat(400), 'x'.repeat(5000),
];

const KEYS = ['slot', 'bus', 'bars', 'cmb', 'p2pmem', 'size', 'offset', 'bar', 'index', 'bits', 'acs', 'children', 'ports', 'kind', 'name', 'numa_node', 'namespaces', 'cpus', 'node', 'colour'];

function pick<T>(r: () => number, list: readonly T[]): T {
  return list[Math.floor(r() * list.length)]!;
}

interface Site {
  node: Node;
  parent: Node | undefined;
  key: unknown;
}

function sites(doc: Document): Site[] {
  const out: Site[] = [];
  const walk = (node: unknown, parent: Node | undefined, key: unknown) => {
    if (!node || typeof node !== 'object') return;
    out.push({ node: node as Node, parent, key });
    if (isMap(node)) for (const p of node.items) walk(p.value, node, isScalar(p.key) ? p.key.value : p.key);
    else if (isSeq(node)) node.items.forEach((item, i) => walk(item, node, i));
  };
  walk(doc.contents, undefined, undefined);
  return out;
}

function replace(doc: Document, s: Site, value: unknown): void {
  const fresh = doc.createNode(value) as Node;
  if (!s.parent) doc.contents = fresh as never;
  else if (isMap(s.parent)) s.parent.set(s.key, fresh);
  else if (isSeq(s.parent)) s.parent.items[s.key as number] = fresh;
}

function mutateOnce(doc: Document, r: () => number): void {
  const all = sites(doc);
  const s = pick(r, all);
  const op = Math.floor(r() * 9);
  switch (op) {
    case 0:
    case 1:
    case 2:
      replace(doc, s, pick(r, EDGE_VALUES));
      return;
    case 3: {
      // nudge a number the way typos and overflows do
      if (isScalar(s.node) && typeof s.node.value === 'number') {
        const n = s.node.value;
        replace(doc, s, pick(r, [n + 1, n - 1, n * 2, n * 1024, n * 2 ** 20, -n, n / 3]));
      } else replace(doc, s, pick(r, EDGE_VALUES));
      return;
    }
    case 4:
      if (s.parent && isMap(s.parent)) s.parent.delete(s.key);
      return;
    case 5:
      if (isSeq(s.node) && s.node.items.length > 0) s.node.items.push(doc.createNode((pick(r, s.node.items) as Node).toJSON()) as Node);
      return;
    case 6:
      if (isMap(s.node)) s.node.set(pick(r, KEYS), doc.createNode(pick(r, EDGE_VALUES)));
      return;
    case 7:
      replace(doc, s, pick(r, [[], {}, [1, 2], { a: 1 }, [{ kind: 'nvme' }], [{ index: 0, size: '1TiB' }]]));
      return;
    default:
      if (s.parent && isSeq(s.parent)) s.parent.items.splice(s.key as number, 1);
  }
}

/** One mutated topology: 1–3 structural mutations, sometimes a text cut. */
export function mutateTopology(base: string, r: () => number): string {
  const doc = parseDocument(base);
  const count = 1 + Math.floor(r() * 3);
  for (let i = 0; i < count; i++) mutateOnce(doc, r);
  let text = doc.toString({ lineWidth: 0 });
  if (r() < 0.08) text = text.slice(0, Math.floor(r() * text.length));
  if (r() < 0.04) {
    const at = Math.floor(r() * text.length);
    text = text.slice(0, at) + pick(r, ['{', ']', ':', '"', '\t', '- ', '&a', '*b', '!!binary ']) + text.slice(at);
  }
  return text;
}
