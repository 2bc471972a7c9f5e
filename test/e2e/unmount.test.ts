// Issue 9: unmount of a busy mount (15 s, then a half-state), a record whose
// pid now belongs to a stranger (who got the SIGTERM), and mount points whose
// records collided (unmounting one stopped the other).

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect, test } from 'vitest';
import { mountKey } from '../../src/daemon/registry.js';
import { mounted, mountTopology, p2pemu, RUN_DIR, sh, tempDir, type Mount, describeMount } from './helpers.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const alive = (pid: number) => existsSync(`/proc/${pid}`) && !/\) Z /.test(sh(`cat /proc/${pid}/stat 2>/dev/null`).stdout);

async function until(cond: () => boolean, ms = 10_000): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(50)) if (cond()) return true;
  return cond();
}

/** A process we start and stop ourselves (by pid). */
function start(cmd: string, args: string[], opts: { cwd?: string } = {}): ChildProcess {
  const child = spawn(cmd, args, { stdio: 'ignore', cwd: opts.cwd });
  child.on('error', () => undefined);
  return child;
}

function stop(child: ChildProcess): void {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

/** The registry file of a mount point (there is one per mount in this file's RUN_DIR). */
function recordFileOf(mnt: string): string {
  const name = readdirSync(RUN_DIR).find((n) => {
    try {
      return JSON.parse(readFileSync(join(RUN_DIR, n), 'utf8')).mountpoint === mnt;
    } catch {
      return false;
    }
  });
  if (!name) throw new Error(`no record for ${mnt}`);
  return join(RUN_DIR, name);
}

function timed<T>(fn: () => T): { value: T; ms: number } {
  const t0 = Date.now();
  const value = fn();
  return { value, ms: Date.now() - t0 };
}

/**
 * What starting the CLI costs right now: on a loaded 2-core machine a bare
 * `p2pemu --version` takes up to a second, which is not the command waiting.
 */
function startupMs(): number {
  return Math.max(...[0, 1].map(() => timed(() => p2pemu('--version')).ms));
}

const statusOf = (mnt: string) => (JSON.parse(p2pemu('status', '--json').stdout) as { mountpoint: string }[]).filter((s) => s.mountpoint === mnt);

describeMount('unmount of a busy mount', () => {
  test('a shell inside and an open file: refused within 2 s with "busy: PIDs …", and the mount keeps working', async () => {
    const m = mountTopology();
    const inside = start('sleep', ['60'], { cwd: join(m.mnt, 'sys/bus/pci') });
    const holder = start('python3', ['-c', `import time; f = open('${join(m.sysfs, 'devices/0000:03:00.0/vendor')}'); time.sleep(60)`]);
    try {
      expect(await until(() => sh(`ls -l /proc/${holder.pid}/fd 2>/dev/null`).stdout.includes(m.mnt))).toBe(true);
      const startup = startupMs();
      const { value: r, ms } = timed(() => p2pemu('unmount', m.mnt));
      expect(ms).toBeLessThan(2000 + startup);
      expect(r.code).toBe(1);
      expect(r.stderr.split('\n').filter(Boolean)).toHaveLength(1);
      expect(r.stderr).toContain(`p2pemu: busy: PIDs `);
      expect(r.stderr).toContain(`${inside.pid} (sleep: cwd)`);
      expect(r.stderr).toMatch(new RegExp(`${holder.pid} \\(python3: fd \\d+\\)`));
      expect(r.stderr).toContain(`p2pemu unmount --lazy ${m.mnt}`);
      // nothing half-done: still mounted, still served, still listed
      expect(mounted(m.mnt)).toBe(true);
      expect(readFileSync(join(m.sysfs, 'devices/0000:03:00.0/vendor'), 'utf8')).toBe('0x144d\n');
      expect(statusOf(m.mnt)).toEqual([expect.objectContaining({ mountpoint: m.mnt, state: 'live', pid: m.pid })]);
    } finally {
      stop(inside);
      stop(holder);
      m.unmount();
    }
  });

  test('--lazy detaches at once; the daemon serves the files still open, then exits when they close', async () => {
    const m = mountTopology();
    const holder = start('python3', ['-c', `import time; f = open('${join(m.sysfs, 'devices/0000:03:00.0/vendor')}'); time.sleep(60); print(f.read())`]);
    try {
      expect(await until(() => sh(`ls -l /proc/${holder.pid}/fd 2>/dev/null`).stdout.includes(m.mnt))).toBe(true);
      const r = p2pemu('unmount', '--lazy', m.mnt);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`detached ${m.mnt} (umount -l); its daemon (pid ${m.pid}) exits once the last file under it is closed`);
      expect(mounted(m.mnt)).toBe(false);
      expect(alive(m.pid)).toBe(true);
      expect(statusOf(m.mnt)).toEqual([expect.objectContaining({ mountpoint: m.mnt, state: 'detached' })]);
      stop(holder);
      expect(await until(() => !alive(m.pid))).toBe(true);
      expect(statusOf(m.mnt)).toEqual([]);
    } finally {
      stop(holder);
      m.unmount();
    }
  });
});

describeMount('daemon identity', () => {
  test('a record whose pid now belongs to an unrelated process: that process is never signalled', async () => {
    const m = mountTopology();
    const stranger = start('sleep', ['60']);
    try {
      // kill -9 the daemon; pretend its pid was reused by `sleep` (a pid cannot be
      // forced, so the record is pointed at the stranger, with the daemon's start time and command line)
      process.kill(m.pid, 'SIGKILL');
      expect(await until(() => !alive(m.pid))).toBe(true);
      const file = recordFileOf(m.mnt);
      const rec = JSON.parse(readFileSync(file, 'utf8'));
      rec.daemon.pid = stranger.pid;
      writeFileSync(file, JSON.stringify(rec));

      expect(statusOf(m.mnt)).toEqual([expect.objectContaining({ mountpoint: m.mnt, state: 'stale' })]);
      const r = p2pemu('unmount', m.mnt);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`recovered stale mount ${m.mnt}`);
      expect(mounted(m.mnt)).toBe(false);
      await sleep(200);
      expect(alive(stranger.pid!)).toBe(true);
      expect(stranger.signalCode).toBe(null);
    } finally {
      stop(stranger);
      m.unmount();
    }
  });

  test('a record that names a live process with another start time or command line never gets it signalled', async () => {
    const stranger = start('sleep', ['60']);
    const mnt = tempDir('p2pemu-fake-');
    try {
      await until(() => alive(stranger.pid!));
      const startTime = readFileSync(`/proc/${stranger.pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[19];
      for (const daemon of [
        { pid: stranger.pid, startTime: '1', cmdline: ['sleep', '60'] },
        { pid: stranger.pid, startTime, cmdline: ['node', 'bin/p2pemu.js', 'mount', mnt, '--foreground'] },
        { pid: stranger.pid, startTime, cmdline: ['sleep', '60'] }, // the very process: but not a p2pemu daemon
      ]) {
        writeFileSync(join(RUN_DIR, 'fake.json'), JSON.stringify({ daemon, mountpoint: mnt, topology: 't', stateDir: '/nonexistent', started: '' }));
        expect(statusOf(mnt)).toEqual([expect.objectContaining({ mountpoint: mnt, state: 'not-mounted' })]);
        writeFileSync(join(RUN_DIR, 'fake.json'), '');
      }
      // the record file of the mount point itself: unmount removes the record, signals nobody
      const file = join(RUN_DIR, `${mountKey(mnt)}.json`);
      writeFileSync(file, JSON.stringify({ daemon: { pid: stranger.pid, startTime: '1', cmdline: ['node', 'p2pemu.js', 'mount', mnt, '--foreground'] }, mountpoint: mnt, topology: 't', stateDir: '/x', started: '' }));
      const r = p2pemu('unmount', mnt);
      expect(r.stdout).toContain('was no longer mounted; removed its record');
      expect(existsSync(file)).toBe(false);
      await sleep(200);
      expect(alive(stranger.pid!)).toBe(true);
    } finally {
      stop(stranger);
      sh(`rm -f '${join(RUN_DIR, 'fake.json')}'; rmdir '${mnt}'`);
    }
  });
});

describeMount('mount points whose names used to collide', () => {
  test('/D/x_y and /D/x/y get their own records; unmounting one leaves the other serving', () => {
    const d = tempDir('p2pemu-collide-');
    mkdirSync(join(d, 'x_y'));
    mkdirSync(join(d, 'x/y'), { recursive: true });
    const mounts: Mount[] = [];
    const mountAt = (mnt: string): Mount => {
      const state = tempDir('p2pemu-collide-state-');
      const r = p2pemu('mount', mnt, '--state', state);
      expect(r.code, r.stderr).toBe(0);
      const m: Mount = { mnt, state, sysfs: join(mnt, 'sys/bus/pci'), pid: Number(/daemon pid (\d+)/.exec(r.stdout)?.[1]), unmount: () => undefined };
      m.unmount = () => {
        if (mounted(mnt)) p2pemu('unmount', mnt);
        if (mounted(mnt)) sh(`umount -l '${mnt}'`);
        sh(`rm -rf '${state}'`);
      };
      mounts.push(m);
      return m;
    };
    try {
      const a = mountAt(join(d, 'x_y'));
      const b = mountAt(join(d, 'x/y'));
      expect(recordFileOf(a.mnt)).not.toBe(recordFileOf(b.mnt));
      expect(p2pemu('unmount', a.mnt).code).toBe(0);
      expect(mounted(a.mnt)).toBe(false);
      expect(mounted(b.mnt)).toBe(true);
      expect(alive(b.pid)).toBe(true);
      expect(readFileSync(join(b.sysfs, 'devices/0000:03:00.0/vendor'), 'utf8')).toBe('0x144d\n');
      expect(statusOf(b.mnt)).toEqual([expect.objectContaining({ mountpoint: b.mnt, state: 'live', pid: b.pid })]);
    } finally {
      for (const m of mounts) m.unmount();
      sh(`rm -rf '${d}'`);
    }
  });
});

describeMount('handler errors', () => {
  test('a live mount counts requests a daemon bug answered EIO; status shows the count', () => {
    const m = mountTopology();
    try {
      expect(readFileSync(join(m.mnt, 'sys/kernel/debug/p2pemu/handler_errors'), 'utf8')).toBe('total 0\n');
      expect(statusOf(m.mnt)).toEqual([expect.objectContaining({ mountpoint: m.mnt, handlerErrors: 0 })]);
    } finally {
      m.unmount();
    }
  });
});
