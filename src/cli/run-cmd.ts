// p2pemu run [--mount MNT | --topology FILE] -- CMD [ARGS…]: CMD in a private
// mount namespace where the emulated host stands at /sys and /dev (run/plan.ts),
// under a seccomp supervisor (run/supervised.ts, src/seccomp); without --mount
// the topology is mounted for CMD's duration. CMD's exit code is run's.

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { constants } from 'node:os';
import { findMount } from '../daemon/index.js';
import { parse } from './args.js';
import { CliError, EXIT_USAGE } from './cli-error.js';

export const RUN_USAGE = `usage: p2pemu run [--mount MNT | --topology FILE] [--profile NAME] -- CMD [ARGS…]

Runs CMD in a private mount namespace where the emulated host replaces the
real one at the real paths: /sys/bus/pci, /sys/devices/pci*, /sys/class/{block,
nvme,nvme-subsystem,nvme-generic}, /sys/block, /sys/dev, /sys/devices/system/
{cpu,node} and /dev/nvme*, /dev/ng*, /dev/hmm_dmirror* come from the mount; the
rest of the host (proc, /sys/fs, /sys/kernel, /tmp, your files) stays as it is.
A seccomp supervisor answers what FUSE cannot, for any binary: stat of
/dev/nvmeX, /dev/ngXnY, /dev/hmm_dmirrorN (character devices) and /dev/nvmeXnY
(block devices), statfs under /sys (sysfs), and mmap() of p2pmem/allocate and
resourceN with the kernel's errnos at mmap() time (allocate is allocated then).
It is emulation, not a sandbox. CMD's exit code is run's. Needs root.

  --mount MNT       use the emulated host already mounted at MNT
  --topology FILE   mount this topology for CMD's duration (default: the
                    embedded default topology), unmount afterwards
  --profile NAME    with --topology: the kernel profile (see p2pemu mount --help)

examples:
  p2pemu run -- lspci -tv
  p2pemu run -- bash                       a shell inside the emulated host
  p2pemu run --mount /tmp/p2p -- nvme list
  p2pemu run -- nvme id-ctrl /dev/nvme0
  p2pemu run -- udevadm info /sys/block/nvme0n1`;

const options = {
  mount: { type: 'string' },
  topology: { type: 'string' },
  profile: { type: 'string' },
} as const;

const CLI = fileURLToPath(new URL('../../bin/p2pemu.js', import.meta.url));
const INSIDE = fileURLToPath(new URL('./run/inside.js', import.meta.url));

/** Mounts the topology at a fresh directory with the mount command; returns how to undo it. */
function mountForRun(topology: string | undefined, profile: string | undefined): { mnt: string; done(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'p2pemu-run-'));
  const mnt = join(dir, 'mnt');
  const state = join(dir, 'state');
  spawnSync('mkdir', ['-p', mnt, state]);
  const args = [CLI, 'mount', mnt, '--state', state, ...(topology ? ['--topology', resolve(topology)] : []), ...(profile ? ['--profile', profile] : [])];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8' });
  if (r.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new CliError((r.stderr || 'mount failed').trim().replace(/^p2pemu: /, ''), r.status === EXIT_USAGE ? EXIT_USAGE : 1);
  }
  return {
    mnt,
    done() {
      spawnSync(process.execPath, [CLI, 'unmount', mnt], { stdio: 'ignore' });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Runs CMD in the namespace and resolves with its exit status (128 + signal when killed). */
function runInNamespace(mnt: string, cmd: string[]): Promise<number> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('unshare', ['--mount', '--propagation', 'private', '--', process.execPath, INSIDE, mnt, '--', ...cmd], { stdio: 'inherit' });
    // the terminal's Ctrl-C and Ctrl-\ are CMD's; a TERM or HUP sent to run reaches CMD too
    const ignore = () => undefined;
    const forward = (sig: NodeJS.Signals) => () => child.kill(sig);
    const handlers: [NodeJS.Signals, () => void][] = [
      ['SIGINT', ignore],
      ['SIGQUIT', ignore],
      ['SIGTERM', forward('SIGTERM')],
      ['SIGHUP', forward('SIGHUP')],
    ];
    for (const [sig, h] of handlers) process.on(sig, h);
    child.on('error', (err) => reject(new CliError(`cannot start unshare (util-linux): ${err.message}`)));
    child.on('exit', (code, signal) => {
      for (const [sig, h] of handlers) process.off(sig, h);
      resolvePromise(code ?? 128 + (signal ? constants.signals[signal] : 0));
    });
  });
}

export async function runCommand(argv: string[]): Promise<number> {
  const sep = argv.indexOf('--');
  const own = sep < 0 ? argv : argv.slice(0, sep);
  const cmd = sep < 0 ? [] : argv.slice(sep + 1);
  const { values, positionals } = parse(own, options, RUN_USAGE);
  if (values.help) {
    console.log(RUN_USAGE);
    return 0;
  }
  if (positionals.length > 0 || cmd.length === 0) throw new CliError(`run needs the command after --\n${RUN_USAGE}`, EXIT_USAGE);
  if (values.mount !== undefined && (values.topology !== undefined || values.profile !== undefined)) {
    throw new CliError('--mount uses a mounted host; --topology and --profile are for the host run mounts itself', EXIT_USAGE);
  }
  if (process.getuid?.() !== 0) throw new CliError('run needs root (it makes a mount namespace and bind mounts)');
  let mounted: { mnt: string; done(): void } | undefined;
  let mnt: string;
  if (values.mount !== undefined) {
    mnt = resolve(values.mount);
    const m = findMount(mnt);
    if (!m || !m.fstype.startsWith('fuse.p2pemu')) throw new CliError(`${mnt} is not a p2pemu mount (mount one with: p2pemu mount ${mnt})`);
  } else {
    mounted = mountForRun(values.topology, values.profile);
    mnt = mounted.mnt;
  }
  try {
    return await runInNamespace(mnt, cmd);
  } finally {
    mounted?.done();
  }
}
