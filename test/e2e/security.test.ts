// Issue 9, tried as a local unprivileged user would: nothing another user
// can pre-create steers the root daemon, no P2P byte becomes readable by
// them, and every unsafe or unusable state dir is one line and exit 2.

import { execFileSync } from 'node:child_process';
import { chownSync, closeSync, existsSync, openSync, readSync, lstatSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, expect, test } from 'vitest';
import { CLI, mounted, p2pemu, sh, tempDir, describeMount } from './helpers.js';

const NOBODY = 65534;
const asNobody = (script: string) => sh(`setpriv --reuid=nobody --regid=nogroup --clear-groups env PATH=/usr/local/bin:/usr/bin:/bin bash -c ${JSON.stringify(script)}`);

/** A root-only directory holding a file whose bytes must never change. */
function victim(content = 'root secret\n'): { dir: string; file: string } {
  const dir = tempDir('p2pemu-victim-');
  const file = join(dir, 'shadow');
  writeFileSync(file, content, { mode: 0o600 });
  return { dir, file };
}

describeMount('pre-created files of another user', () => {
  // The old BAR directory was /dev/shm/p2pemu-<daemon pid>: anyone could create it
  // for the next pids, with symlinks named like BAR files. The spray and the mount
  // run in a private mount namespace with its own /dev/shm, so that no other
  // p2pemu daemon on this machine (another checkout, an older build) walks into it.
  test('a spray of /dev/shm directories and symlinks by nobody changes no file and exposes no P2P byte', () => {
    const v = victim();
    const work = tempDir('p2pemu-spray-'); // root-only: scripts and results
    const leakDir = tempDir('p2pemu-leak-');
    chownSync(leakDir, NOBODY, NOBODY);
    const leak = join(leakDir, 'loot');
    asNobody(`umask 0; : > '${leak}'`);
    const mnt = tempDir('p2pemu-spray-mnt-');
    const state = tempDir('p2pemu-spray-state-');
    const SPRAY = 3000;
    // every BAR of the default topology: accel0's P2P BAR points at the attacker's file, the rest at the victim
    const bars = ['0000:03:00.0-bar0', '0000:03:00.0-bar2', '0000:04:00.0-bar0', '0000:04:00.0-bar2', '0000:05:00.0-bar0', '0000:05:00.0-bar4', '0000:06:00.0-bar0', '0000:81:00.0-bar0', '0000:81:00.0-bar3', '0000:82:00.0-bar0'];
    writeFileSync(
      join(leakDir, 'spray.py'),
      `import os
pid_max = int(open('/proc/sys/kernel/pid_max').read())
last = int(open('/proc/sys/kernel/ns_last_pid').read())
for i in range(1, ${SPRAY} + 1):
    p = last + i if last + i < pid_max else 300 + last + i - pid_max
    d = '/dev/shm/p2pemu-%d' % p
    os.mkdir(d)
    os.chmod(d, 0o777)
    for b in ${JSON.stringify(bars)}:
        os.symlink('${v.file}', os.path.join(d, b))
    os.symlink('${leak}', os.path.join(d, '0000:81:00.0-bar1'))
    print(p)
`,
      { mode: 0o644 },
    );
    const allocate = join(mnt, 'sys/bus/pci/devices/0000:81:00.0/p2pmem/allocate');
    const dev = join(mnt, 'sys/bus/pci/devices');
    // PATH: root's may lead through directories nobody cannot enter (pyenv shims)
    const nobody = 'setpriv --reuid=nobody --regid=nogroup --clear-groups env PATH=/usr/local/bin:/usr/bin:/bin';
    const script = `set -u
cd '${work}'
mount -t tmpfs -o mode=1777,size=16m p2pemu-spray /dev/shm
${nobody} python3 '${leakDir}/spray.py' > sprayed
node '${CLI}' mount '${mnt}' --state '${state}' > mount.out 2>&1 || exit 3
# root writes P2P data through allocate, as an application would
python3 -c "import mmap,os; fd=os.open('${allocate}', os.O_RDWR); b=mmap.mmap(fd, 1<<20, mmap.MAP_SHARED); b[0:4096]=b'P2PSECRET'*455+b'P'; b.flush()"
${nobody} bash -c "grep -rl P2PSECRET /dev/shm '${leakDir}'" > readable 2>/dev/null
${nobody} head -c 16 '${dev}/0000:81:00.0/resource1' > /dev/null 2> resource.err
${nobody} python3 -c "open('${allocate}', 'r+b')" 2> allocate.err
${nobody} wc -c < '${dev}/0000:03:00.0/config' > config.len
${nobody} cat '${mnt}/sys/kernel/debug/p2pemu/handler_errors' > /dev/null 2> debugfs.err
stat -c %a '${mnt}/sys/kernel/debug' > debugfs.mode
stat -c %a '${allocate}' '${dev}/0000:81:00.0/remove' > modes
node '${CLI}' unmount '${mnt}' > unmount.out 2>&1
`;
    writeFileSync(join(work, 'run.sh'), script);
    const r = sh(`unshare --mount --propagation private bash '${join(work, 'run.sh')}'`);
    const out = (name: string) => readFileSync(join(work, name), 'utf8');
    const pid = Number(/daemon pid (\d+)/.exec(existsSync(join(work, 'mount.out')) ? out('mount.out') : '')?.[1]);
    try {
      expect(r.code, r.stderr + (existsSync(join(work, 'mount.out')) ? out('mount.out') : '')).toBe(0);
      // the trap was armed for the daemon's pid
      expect(out('sprayed').split('\n')).toContain(String(pid));
      expect(readFileSync(v.file, 'utf8')).toBe('root secret\n');
      expect(statSync(leak).size).toBe(0);
      expect(out('readable')).toBe('');
      // what nobody may and may not do through the mount (modes as sysfs)
      expect(out('resource.err')).toMatch(/Permission denied/);
      expect(out('allocate.err')).toMatch(/PermissionError/);
      expect(out('config.len').trim()).toBe('64');
      // debugfs is root's alone, as the kernel mounts it (DEBUGFS_DEFAULT_MODE)
      expect(out('debugfs.err')).toMatch(/Permission denied/);
      expect(out('debugfs.mode').trim()).toBe('700');
      expect(out('modes').split('\n').filter(Boolean)).toEqual(['660', '220']);
      expect(out('unmount.out')).toMatch(/unmounted/);
    } finally {
      try {
        if (pid && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(mnt)) process.kill(pid, 'SIGKILL');
      } catch {
        /* gone */
      }
      for (const d of [v.dir, work, leakDir, mnt, state]) rmSync(d, { recursive: true, force: true });
    }
  }, 120_000);
});

describeMount('state dirs that are unsafe or unusable are refused: one line, exit 2, nothing followed or mounted', () => {
  const cleanup: string[] = [];
  afterAll(() => {
    for (const d of cleanup) rmSync(d, { recursive: true, force: true });
  });

  function tryMount(state: string): { code: number; lines: string[]; mnt: string } {
    const mnt = tempDir('p2pemu-sec-mnt-');
    cleanup.push(mnt);
    const r = p2pemu('mount', mnt, '--state', state);
    const wasMounted = mounted(mnt);
    if (wasMounted) p2pemu('unmount', mnt);
    expect(wasMounted).toBe(false);
    return { code: r.code, lines: r.stderr.split('\n').filter(Boolean), mnt };
  }

  function stateDir(): string {
    const d = tempDir('p2pemu-sec-state-');
    cleanup.push(d);
    return d;
  }

  test('a daemon.log symlink is named and refused; its target is never appended to', () => {
    const v = victim();
    cleanup.push(v.dir);
    const state = stateDir();
    symlinkSync(v.file, join(state, 'daemon.log'));
    const r = tryMount(state);
    expect(r.code).toBe(2);
    expect(r.lines).toEqual([`p2pemu: state dir ${state}: ${state}/daemon.log is a symlink; p2pemu never follows symlinks in its own directories: remove it`]);
    expect(readFileSync(v.file, 'utf8')).toBe('root secret\n');
  });

  test('a dangling namespace-image symlink is refused; no 1 GiB file appears at its target', () => {
    const state = stateDir();
    const elsewhere = tempDir('p2pemu-elsewhere-');
    cleanup.push(elsewhere);
    mkdirSync(join(state, 'namespaces'), { mode: 0o700 });
    symlinkSync(join(elsewhere, 'grown.img'), join(state, 'namespaces/0000-03-00.0-n1.img'));
    const r = tryMount(state);
    expect(r.code).toBe(2);
    expect(r.lines).toHaveLength(1);
    expect(r.lines[0]).toMatch(/^p2pemu: mount .* refused: .*namespaces\/0000-03-00\.0-n1\.img is a symlink; p2pemu never follows symlinks/);
    expect(readdirSync(elsewhere)).toEqual([]);
  });

  test('a namespace-image symlink to a file of the right size never becomes a namespace', () => {
    const v = victim();
    cleanup.push(v.dir);
    truncateSync(v.file, 2 ** 30); // sparse, 1 GiB: the size of the default namespace
    const state = stateDir();
    mkdirSync(join(state, 'namespaces'), { mode: 0o700 });
    symlinkSync(v.file, join(state, 'namespaces/0000-03-00.0-n1.img'));
    const r = tryMount(state);
    expect(r.code).toBe(2);
    expect(r.lines[0]).toMatch(/0000-03-00\.0-n1\.img is a symlink/);
    const head = Buffer.alloc(12);
    const fd = openSync(v.file, 'r');
    readSync(fd, head, 0, 12, 0);
    closeSync(fd);
    expect(head.toString()).toBe('root secret\n');
  });

  test.each([
    ['owned by another user', (d: string) => chownSync(d, NOBODY, NOBODY), /is owned by uid 65534; p2pemu uses only directories that root alone can change$/],
    ['writable by every user', (d: string) => sh(`chmod 0777 '${d}'`), /is writable by every user; p2pemu uses only directories that root alone can change$/],
  ])('a state dir %s is refused and left empty', (_what, spoil, message) => {
    const state = stateDir();
    spoil(state);
    const r = tryMount(state);
    expect(r.code).toBe(2);
    expect(r.lines).toHaveLength(1);
    expect(r.lines[0]).toMatch(message);
    expect(readdirSync(state)).toEqual([]);
  });

  test('a state dir path through a symlink another user planted is refused', () => {
    const parent = tempDir('p2pemu-sec-parent-');
    cleanup.push(parent);
    const target = stateDir();
    const link = join(parent, 'state');
    symlinkSync(target, link);
    execFileSync('chown', ['-h', `${NOBODY}:${NOBODY}`, link]);
    const r = tryMount(link);
    expect(r.code).toBe(2);
    expect(r.lines[0]).toMatch(/state is a symlink owned by uid 65534/);
    expect(readdirSync(target)).toEqual([]);
  });

  test('a dangling state dir symlink is one clear line; its target is not created', () => {
    const parent = tempDir('p2pemu-sec-parent-');
    cleanup.push(parent);
    const link = join(parent, 'state');
    symlinkSync(join(parent, 'gone/away'), link);
    const r = tryMount(link);
    expect(r.code).toBe(2);
    expect(r.lines).toEqual([`p2pemu: state dir ${link}: ${link} is a symlink to ${join(parent, 'gone/away')}, which does not exist`]);
    expect(existsSync(join(parent, 'gone'))).toBe(false);
  });

  test('a read-only state dir is one clear line, not a raw EROFS', () => {
    const state = stateDir();
    expect(sh(`mount -t tmpfs -o ro,size=64k,mode=0700 p2pemu-test-ro '${state}'`).code).toBe(0);
    try {
      const r = tryMount(state);
      expect(r.code).toBe(2);
      expect(r.lines).toEqual([`p2pemu: state dir ${state} is on a read-only file system`]);
    } finally {
      sh(`umount '${state}'`);
    }
  });

  test('an immutable state dir is one clear line', (ctx) => {
    const state = stateDir();
    if (sh(`chattr +i '${state}'`).code !== 0) ctx.skip(); // the file system holding /tmp has no immutable flag
    try {
      const r = tryMount(state);
      expect(r.code).toBe(2);
      expect(r.lines).toEqual([`p2pemu: state dir ${state} refuses new files (immutable? see lsattr -d ${state})`]);
    } finally {
      sh(`chattr -i '${state}'`);
    }
  });

  test('a fresh state dir is created root-only (0700), its log 0600', () => {
    const parent = stateDir();
    const state = join(parent, 'new/state');
    const mnt = tempDir('p2pemu-sec-mnt-');
    cleanup.push(mnt);
    const r = p2pemu('mount', mnt, '--state', state);
    try {
      expect(r.code).toBe(0);
      expect(statSync(state).mode & 0o777).toBe(0o700);
      expect(lstatSync(join(state, 'daemon.log')).mode & 0o777).toBe(0o600);
    } finally {
      p2pemu('unmount', mnt);
    }
  });
});

describeMount('mount points another user could swap are refused: one line, exit 2, nothing mounted', () => {
  const cleanup: string[] = [];
  afterAll(() => {
    for (const d of cleanup) rmSync(d, { recursive: true, force: true });
  });

  function refused(mnt: string): string[] {
    const r = p2pemu('mount', mnt);
    const wasMounted = mounted(mnt);
    if (wasMounted) p2pemu('unmount', mnt);
    expect(wasMounted).toBe(false);
    expect(r.code).toBe(2);
    return r.stderr.split('\n').filter(Boolean);
  }

  test('under a directory nobody owns (nobody could rename it and leave a symlink to /etc)', () => {
    const parent = tempDir('p2pemu-sec-mp-');
    cleanup.push(parent);
    chownSync(parent, NOBODY, NOBODY);
    const mnt = join(parent, 'mnt');
    mkdirSync(mnt);
    expect(refused(mnt)).toEqual([`p2pemu: mount point ${mnt}: ${parent} is owned by uid 65534; p2pemu uses only directories that root alone can change`]);
  });

  test("nobody's own directory in sticky /tmp (its owner may rename it there)", () => {
    const mnt = tempDir('p2pemu-sec-mp-');
    cleanup.push(mnt);
    chownSync(mnt, NOBODY, NOBODY);
    expect(refused(mnt)).toEqual([`p2pemu: mount point ${mnt}: ${mnt} is owned by uid 65534; p2pemu uses only directories that root alone can change`]);
  });

  test("a symlink of nobody's is not followed", () => {
    const parent = tempDir('p2pemu-sec-mp-');
    cleanup.push(parent);
    const target = join(parent, 'target');
    mkdirSync(target);
    const link = join(parent, 'link');
    symlinkSync(target, link);
    execFileSync('chown', ['-h', `${NOBODY}:${NOBODY}`, link]);
    expect(refused(link)[0]).toMatch(/link is a symlink owned by uid 65534/);
  });
});
