// Building the tree: an inode table plus helpers that create and link nodes.

import { kernelError } from '../errno.js';
import type { BinAttrNode, DeviceNode, DirNode, SymlinkNode, TextAttrNode, VNode } from './node.js';

export const ROOT_INO = 1;

type NewNode<T extends VNode> = Omit<T, 'ino' | 'parent'>;

export class InodeTable {
  private readonly nodes: (VNode | undefined)[] = [];
  readonly root: DirNode;

  constructor() {
    this.root = { kind: 'dir', ino: ROOT_INO, name: '', parent: undefined, mode: 0o755, children: new Map() };
    this.nodes[ROOT_INO] = this.root;
  }

  get(ino: number): VNode | undefined {
    return this.nodes[ino];
  }

  getOrThrow(ino: number): VNode {
    const n = this.nodes[ino];
    if (!n) throw kernelError('ENOENT', `no node ${ino}`);
    return n;
  }

  get size(): number {
    return this.nodes.length;
  }

  private register<T extends VNode>(parent: DirNode, spec: NewNode<T>): T {
    if (parent.children.has(spec.name)) throw new Error(`duplicate entry ${pathOf(parent)}/${spec.name}`);
    const node = { ...spec, ino: this.nodes.length, parent } as T;
    this.nodes.push(node);
    parent.children.set(spec.name, node);
    return node;
  }

  /** A node id that is not linked into any directory (a fresh identity for an open). */
  registerDetached<T extends VNode>(node: T): number {
    const ino = this.nodes.length;
    this.nodes.push(node);
    return ino;
  }

  release(ino: number): void {
    if (ino !== ROOT_INO) this.nodes[ino] = undefined;
  }

  unlink(node: VNode): void {
    node.parent?.children.delete(node.name);
    const drop = (n: VNode): void => {
      this.nodes[n.ino] = undefined;
      n.removed = true;
      if (n.kind === 'dir') for (const c of n.children.values()) drop(c);
    };
    drop(node);
  }

  dir(parent: DirNode, name: string, mode = 0o755): DirNode {
    return this.register<DirNode>(parent, { kind: 'dir', name, mode, children: new Map() });
  }

  /** mkdir -p below parent, returning the last directory. */
  dirs(parent: DirNode, path: string): DirNode {
    let d = parent;
    for (const part of path.split('/').filter(Boolean)) {
      const existing = d.children.get(part);
      if (existing) {
        if (existing.kind !== 'dir') throw new Error(`${pathOf(existing)} is not a directory`);
        d = existing;
      } else {
        d = this.dir(d, part);
      }
    }
    return d;
  }

  text(parent: DirNode, name: string, mode: number, show?: TextAttrNode['show'], store?: TextAttrNode['store']): TextAttrNode {
    return this.register<TextAttrNode>(parent, { kind: 'text', name, mode, show, store });
  }

  /** A read-only debugfs file shown through seq_file: the whole text, however long. */
  seqText(parent: DirNode, name: string, mode: number, show: () => string): TextAttrNode {
    return this.register<TextAttrNode>(parent, { kind: 'text', name, mode, show, seq: true });
  }

  bin(parent: DirNode, spec: Omit<NewNode<BinAttrNode>, 'kind'>): BinAttrNode {
    return this.register<BinAttrNode>(parent, { kind: 'bin', ...spec });
  }

  device(parent: DirNode, spec: Omit<NewNode<DeviceNode>, 'kind'>): DeviceNode {
    return this.register<DeviceNode>(parent, { kind: 'device', ...spec });
  }

  /** A second name for a file: the same node id, so the kernel keeps one inode and one page cache for both. */
  alias(parent: DirNode, name: string, node: BinAttrNode): void {
    if (parent.children.has(name)) throw new Error(`duplicate entry ${pathOf(parent)}/${name}`);
    parent.children.set(name, node);
  }

  symlink(parent: DirNode, name: string, target: string): SymlinkNode {
    return this.register<SymlinkNode>(parent, { kind: 'symlink', name, mode: 0o777, target });
  }
}

export function pathOf(node: VNode): string {
  const parts: string[] = [];
  for (let n: VNode | undefined = node; n && n.parent; n = n.parent) parts.unshift(n.name);
  return '/' + parts.join('/');
}

// kernel: kernfs_get_target_path(), fs/kernfs/symlink.c: climb to the nearest ancestor of the target's parent, then down
/**
 * Relative symlink target from the directory `from` to the node at absolute
 * path `to`. The path always ends in the target's name, even when the target
 * is an ancestor of the link (`device -> ../../../0000:03:00.0`).
 */
export function relativeTarget(fromDir: string, to: string): string {
  const a = fromDir.split('/').filter(Boolean);
  const b = to.split('/').filter(Boolean);
  let i = 0;
  while (i < a.length && i < b.length - 1 && a[i] === b[i]) i++;
  return [...a.slice(i).map(() => '..'), ...b.slice(i)].join('/');
}

/** Walks an absolute path without following symlinks. */
export function walk(table: InodeTable, path: string): VNode | undefined {
  let n: VNode = table.root;
  for (const part of path.split('/').filter(Boolean)) {
    if (n.kind !== 'dir') return undefined;
    const next = n.children.get(part);
    if (!next) return undefined;
    n = next;
  }
  return n;
}
