// Issue 9: the root daemon must never be steered by another user's files. A
// directory is used only when root alone can change what its path names; a
// file is never reached through a symlink.
import { chmodSync, chownSync, constants, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { checkRootOnlyDir, ensureRootOnlyDir, openRegular, UnsafePathError } from '../../src/memory/safe-file.js';

const isRoot = process.getuid?.() === 0;
const NOBODY = 65534;
const base = mkdtempSync(join(tmpdir(), 'p2pemu-safe-'));
afterAll(() => rmSync(base, { recursive: true, force: true }));

function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(UnsafePathError);
    return (err as Error).message;
  }
  return 'accepted';
}

describe.skipIf(!isRoot)('directories root alone can change', () => {
  test('a fresh directory under a root-only one is created 0700 and accepted', () => {
    const dir = join(base, 'fresh/state');
    expect(ensureRootOnlyDir(dir, 0o700)).toBe(dir);
    expect(checkRootOnlyDir(dir)).toEqual({ real: dir });
  });

  test('a directory another user owns is refused, naming it and its owner', () => {
    const dir = join(base, 'theirs');
    mkdirSync(dir);
    chownSync(dir, NOBODY, NOBODY);
    expect(refusal(() => ensureRootOnlyDir(dir, 0o700))).toBe(`${dir}: ${dir} is owned by uid ${NOBODY}; p2pemu uses only directories that root alone can change`);
  });

  test('a directory group or others may write is refused; a sticky /tmp on the way is fine', () => {
    const dir = join(base, 'open');
    mkdirSync(dir);
    chmodSync(dir, 0o777);
    expect(refusal(() => checkRootOnlyDir(dir))).toMatch(/is writable by every user/);
    // the test's own base lives in the sticky, world-writable /tmp and is accepted
    expect(checkRootOnlyDir(base).missing).toBeUndefined();
  });

  test('a directory below one that others may write is refused (they could swap it)', () => {
    const parent = join(base, 'open-parent');
    mkdirSync(join(parent, 'state'), { recursive: true });
    chmodSync(parent, 0o777);
    expect(refusal(() => checkRootOnlyDir(join(parent, 'state')))).toMatch(/open-parent is writable by every user/);
  });

  test("a symlink another user planted on the way is refused; root's own is followed", () => {
    const target = join(base, 'target');
    mkdirSync(target);
    const theirs = join(base, 'their-link');
    symlinkSync(target, theirs);
    execFileSync('chown', ['-h', `${NOBODY}:${NOBODY}`, theirs]);
    expect(refusal(() => checkRootOnlyDir(theirs))).toMatch(/their-link is a symlink owned by uid 65534/);
    const ours = join(base, 'our-link');
    symlinkSync(target, ours);
    expect(checkRootOnlyDir(ours)).toEqual({ real: target });
  });

  test('a dangling symlink is refused, and nothing is created at its target', () => {
    const link = join(base, 'dangling');
    const nowhere = join(base, 'nowhere/deeper');
    symlinkSync(nowhere, link);
    expect(refusal(() => ensureRootOnlyDir(link, 0o700))).toMatch(/dangling is a symlink to .*nowhere\/deeper, which does not exist/);
    expect(existsSync(join(base, 'nowhere'))).toBe(false);
  });
});

describe('files opened without following symlinks', () => {
  test('a symlink where a file is expected is an error naming it; its target is untouched', () => {
    const victim = join(base, 'victim');
    writeFileSync(victim, 'precious\n');
    const link = join(base, 'daemon.log');
    symlinkSync(victim, link);
    expect(refusal(() => openRegular(link, constants.O_WRONLY | constants.O_APPEND | constants.O_CREAT))).toBe(
      `${link} is a symlink; p2pemu never follows symlinks in its own directories: remove it`,
    );
    expect(readFileSync(victim, 'utf8')).toBe('precious\n');
  });

  test('a FIFO or a directory where a file is expected is refused', () => {
    const fifo = join(base, 'fifo');
    execFileSync('mkfifo', [fifo]);
    expect(refusal(() => openRegular(fifo, constants.O_RDONLY | constants.O_NONBLOCK))).toBe(`${fifo}: not a regular file`);
    expect(refusal(() => openRegular(base, constants.O_RDONLY))).toBe(`${base}: not a regular file`);
  });
});
