// The daemon's control channel: a unix socket in its state directory (a
// directory only root can enter; the socket itself 0600), one JSON request per
// connection and one JSON answer. `explain`, `topo`, `dmabuf`, `report` and
// `status` ask it with --mount MNT and get their answer computed from the live
// model by the same code the offline command runs on a topology file: the
// handlers are the CLI's, handed to the daemon when it starts. Answering runs
// on the main thread and never touches the mount.

import { readdirSync, rmSync, chmodSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { callerMemory } from '../caller-memory/index.js';
import type { TopologySpec } from '../config/index.js';
import type { HostModel } from '../model/index.js';
import type { TransferCount } from '../model/index.js';
import type { HandlerErrors } from '../vfs/index.js';

/** What a handler may read of the running machine. */
export interface LiveHost {
  mountpoint: string;
  /** the topology the daemon booted, with the profile it runs */
  spec: TopologySpec;
  /** the live kernel model: what the I/O path obeys */
  model: HostModel;
  transfers(): TransferCount[];
  handlerErrors(): HandlerErrors;
}

export interface ControlRequest {
  command: string;
  [field: string]: unknown;
}

export type ControlAnswer = { ok: true; output: string } | { ok: false; error: string; exitCode: number };

export type ControlHandler = (req: ControlRequest, live: LiveHost) => string | Promise<string>;
export type ControlHandlers = Readonly<Record<string, ControlHandler>>;

/** a request is a few fields; anything larger is not ours */
const MAX_REQUEST = 1 << 20;
const SOCKET_PATTERN = /^control\.(\d+)\.sock$/;

export function controlSocketPath(stateDir: string, pid = process.pid): string {
  return join(stateDir, `control.${pid}.sock`);
}

/** Sockets left by daemons of this state dir that were killed (their pid is gone). */
function removeStaleSockets(stateDir: string): void {
  for (const name of readdirSync(stateDir)) {
    const m = SOCKET_PATTERN.exec(name);
    if (m && Number(m[1]) !== process.pid && !callerMemory.isAlive(Number(m[1]))) rmSync(join(stateDir, name), { force: true });
  }
}

async function answer(line: string, handlers: ControlHandlers, live: LiveHost): Promise<ControlAnswer> {
  let req: ControlRequest;
  try {
    req = JSON.parse(line) as ControlRequest;
  } catch {
    return { ok: false, error: 'the request is not JSON', exitCode: 2 };
  }
  const handler = typeof req?.command === 'string' ? handlers[req.command] : undefined;
  if (!handler) return { ok: false, error: `the daemon has no command "${String(req?.command)}"`, exitCode: 2 };
  try {
    return { ok: true, output: await handler(req, live) };
  } catch (err) {
    const exitCode = (err as { exitCode?: unknown }).exitCode;
    return { ok: false, error: (err as Error).message ?? String(err), exitCode: typeof exitCode === 'number' ? exitCode : 1 };
  }
}

/** Listens on the control socket of a state dir until closed. */
export async function serveControl(stateDir: string, handlers: ControlHandlers, live: LiveHost, log: Logger): Promise<{ path: string; close(): void }> {
  removeStaleSockets(stateDir);
  const path = controlSocketPath(stateDir);
  rmSync(path, { force: true });
  const server: Server = createServer((sock) => {
    let buf = '';
    sock.setEncoding('utf8');
    sock.on('error', () => undefined);
    sock.on('data', (chunk: string) => {
      buf += chunk;
      if (buf.length > MAX_REQUEST) return void sock.destroy();
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      sock.pause();
      void answer(buf.slice(0, nl), handlers, live).then((a) => {
        if (!a.ok) log.debug({ error: a.error }, 'control request failed');
        sock.end(JSON.stringify(a) + '\n');
      });
    });
  });
  await new Promise<void>((res, rej) => {
    server.once('error', rej);
    server.listen(path, () => res());
  });
  chmodSync(path, 0o600);
  server.unref();
  return {
    path,
    close: () => {
      server.close();
      rmSync(path, { force: true });
    },
  };
}

/** Sends one request to a daemon's control socket and waits for its answer. */
export function askControl(path: string, req: ControlRequest, timeoutMs = 60_000): Promise<ControlAnswer> {
  return new Promise((res, rej) => {
    const sock = createConnection(path);
    let buf = '';
    const timer = setTimeout(() => sock.destroy(Object.assign(new Error(`the daemon did not answer within ${timeoutMs / 1000} s`), { code: 'ETIMEDOUT' })), timeoutMs);
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(JSON.stringify(req) + '\n'));
    sock.on('data', (d: string) => (buf += d));
    sock.on('error', (err) => {
      clearTimeout(timer);
      rej(err);
    });
    sock.on('end', () => {
      clearTimeout(timer);
      try {
        res(JSON.parse(buf) as ControlAnswer);
      } catch {
        rej(new Error('the daemon answered with something that is not JSON'));
      }
    });
  });
}
