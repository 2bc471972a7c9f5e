// A typed walk over a parsed YAML document that knows where every value came
// from, so each validation error names file, line and column.

import { isMap, isScalar, isSeq, LineCounter, parseDocument, type Document, type Node } from 'yaml';
import { parseSizeChecked } from './sizes.js';
import type { SpecPos } from './spec.js';
import { TopologyError } from './topology-error.js';

export class YamlFile {
  readonly doc: Document;
  private readonly lines = new LineCounter();

  constructor(
    readonly file: string,
    readonly text: string,
  ) {
    this.doc = parseDocument(text, { lineCounter: this.lines, uniqueKeys: true, prettyErrors: false });
    const err = this.doc.errors[0];
    if (err) {
      const msg = err.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
      throw new TopologyError(this.at(err.pos[0]), `YAML syntax: ${msg}`);
    }
  }

  at(offset: number): string {
    const { line, col } = this.lines.linePos(offset);
    return `${this.file}:${line}:${col}`;
  }

  root(): Cursor {
    return new Cursor(this, this.doc.contents as Node | null, '', 0);
  }
}

export class Cursor {
  constructor(
    private readonly file: YamlFile,
    readonly node: Node | null,
    /** path in the document, e.g. host_bridges[0].children[1] */
    readonly path: string,
    private readonly fallbackOffset: number,
  ) {}

  get where(): string {
    return this.file.at(this.node?.range?.[0] ?? this.fallbackOffset);
  }

  /** where and path, for errors found after parsing */
  get pos(): SpecPos {
    return { where: this.where, path: this.path };
  }

  fail(problem: string): never {
    throw new TopologyError(this.where, this.path ? `${this.path}: ${problem}` : problem);
  }

  /** For a `|` block of lines (config bytes): the error points at the block's `line`-th line (1-based) and its first character. */
  failAtLine(line: number, problem: string): never {
    const start = this.node?.range?.[0];
    if (start === undefined || !isScalar(this.node) || !String(this.node.type).startsWith('BLOCK')) this.fail(`line ${line}: ${problem}`);
    // the content starts on the line after the block indicator
    let off = start;
    for (let i = 0; i < line && off >= 0; i++) off = this.file.text.indexOf('\n', off) + 1;
    if (off <= 0) this.fail(`line ${line}: ${problem}`);
    while (this.file.text[off] === ' ') off++;
    throw new TopologyError(this.file.at(off), this.path ? `${this.path}: ${problem}` : problem);
  }

  get present(): boolean {
    return this.node !== null && !(isScalar(this.node) && this.node.value === null);
  }

  private child(node: Node | null, segment: string): Cursor {
    const path = segment.startsWith('[') ? `${this.path}${segment}` : this.path ? `${this.path}.${segment}` : segment;
    return new Cursor(this.file, node, path, this.node?.range?.[0] ?? this.fallbackOffset);
  }

  /** Requires a mapping whose keys are all in `allowed`. */
  map(allowed: readonly string[]): this {
    if (!isMap(this.node)) this.fail(`expected a mapping, got ${describe(this.node)}`);
    for (const pair of this.node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : '?';
      if (!allowed.includes(key)) {
        new Cursor(this.file, pair.key as Node, this.path ? `${this.path}.${key}` : key, 0).fail(
          `unknown key "${key}" (expected one of: ${allowed.join(', ')})`,
        );
      }
    }
    return this;
  }

  get(key: string): Cursor {
    const value = isMap(this.node) ? (this.node.get(key, true) as Node | undefined) : undefined;
    return this.child(value ?? null, key);
  }

  has(key: string): boolean {
    return this.get(key).present;
  }

  list(): Cursor[] {
    if (!this.present) return [];
    if (!isSeq(this.node)) this.fail(`expected a list, got ${describe(this.node)}`);
    return this.node.items.map((item, i) => this.child(item as Node, `[${i}]`));
  }

  private scalar(): unknown {
    if (!isScalar(this.node)) this.fail(`expected a value, got ${describe(this.node)}`);
    return this.node.value;
  }

  str(fallback?: string): string {
    if (!this.present) return fallback ?? this.fail('missing value');
    const v = this.scalar();
    if (typeof v !== 'string' && typeof v !== 'number') this.fail(`expected text, got ${JSON.stringify(v)}`);
    return String(v);
  }

  int(fallback?: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
    if (!this.present) return fallback ?? this.fail('missing value');
    const v = this.scalar();
    const n = typeof v === 'string' && /^0x[0-9a-f]+$/i.test(v) ? parseInt(v, 16) : v;
    if (typeof n !== 'number' || !Number.isInteger(n)) this.fail(`expected an integer, got ${JSON.stringify(v)}`);
    if (n < min || n > max) this.fail(`${n} is out of range (${min}..${max})`);
    return n;
  }

  num(fallback?: number): number {
    if (!this.present) return fallback ?? this.fail('missing value');
    const v = this.scalar();
    const n = typeof v === 'string' ? Number(v) : v;
    if (typeof n !== 'number' || !Number.isFinite(n)) this.fail(`expected a number, got ${JSON.stringify(v)}`);
    return n;
  }

  bool(fallback: boolean): boolean {
    if (!this.present) return fallback;
    const v = this.scalar();
    if (typeof v === 'boolean') return v;
    if (v === 'on' || v === 'off') return v === 'on';
    this.fail(`expected true or false, got ${JSON.stringify(v)}`);
  }

  size(fallback?: number): number {
    if (!this.present) return fallback ?? this.fail('missing size');
    const v = this.scalar();
    const n = typeof v === 'string' || typeof v === 'number' ? parseSizeChecked(v) : 'syntax';
    if (n === 'too-large') this.fail(`size ${JSON.stringify(v)} is too large (sizes must stay below 2^53 bytes, 8PiB)`);
    if (n === 'syntax') this.fail(`bad size syntax ${JSON.stringify(v)} (expected bytes or a number with KiB, MiB, GiB or TiB, e.g. 64MiB)`);
    return n;
  }

  strings(): string[] {
    if (!this.present) return [];
    if (isScalar(this.node) && typeof this.node.value === 'string') return this.node.value.split(/[\s,|]+/).filter(Boolean);
    return this.list().map((c) => c.str());
  }
}

function describe(node: Node | null): string {
  if (node === null) return 'nothing';
  if (isMap(node)) return 'a mapping';
  if (isSeq(node)) return 'a list';
  if (isScalar(node)) return JSON.stringify(node.value);
  return 'something else';
}
