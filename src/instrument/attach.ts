/**
 * The target side of `greenio ps|top PID`, with no set-up in the program: at its first
 * spawn greenio listens for SIGWINCH (ignored by default, so the signal does nothing to a
 * process without greenio, and the handle keeps no loop alive). On the signal, if the
 * requester left `<pid>.req` in the per-user 0700 directory `$TMPDIR/greenio-<uid>`, the
 * process opens the Unix socket `<pid>.sock` (0600) there, answers line-delimited JSON
 * requests, and closes it when the client leaves or after 10 s idle. Nothing listens on
 * a network address, nothing is printed. Limit: the signal is handled when the loop turns.
 */
import net from 'node:net';
import fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as hub from '../hub/index.js';
import { lookup } from '../internal/originals.js';
import { originalClearTimeout, originalSetTimeout } from '../internal/originals.js';
import { snapshot } from './ps.js';
import { startSlices, stopSlices } from './slices.js';

/** The signal `greenio ps|top` sends. */
export const ATTACH_SIGNAL = 'SIGWINCH';
const IDLE_MS = 10_000;

// greenio's own IO here must be no greenlet's and go through no patch.
function orig<F>(module: string, name: string, current: F): F {
  return (lookup(module, name) as F | undefined) ?? current;
}

/** `$TMPDIR/greenio-<uid>`: where requests and sockets of `uid` live (mode 0700). */
export function attachDir(uid: number, base: string = tmpdir()): string {
  return join(base, `greenio-${uid}`);
}

let armed = false;
let server: net.Server | null = null;
let idle: ReturnType<typeof setTimeout> | null = null;

/** Listen for attach requests (once; called at the first spawn). */
export function armAttach(): void {
  if (armed || typeof process.getuid !== 'function') return;
  armed = true;
  process.on(ATTACH_SIGNAL, onSignal);
}

/** Stop listening for attach requests and close any open socket (tests, shutdown). */
export function disarmAttach(): void {
  if (!armed) return;
  armed = false;
  process.removeListener(ATTACH_SIGNAL, onSignal);
  closeServer();
}

// Armed at the first spawn, not at import: importing greenio installs no listener.
hub.setFirstSpawnHook(armAttach);

function onSignal(): void {
  hub.outside(openIfAsked);
}

function openIfAsked(): void {
  const uid = process.getuid!();
  const dir = attachDir(uid);
  const req = join(dir, `${process.pid}.req`);
  const lstat = orig('fs', 'lstatSync', fs.lstatSync);
  try {
    // Only a request from this user (or root), in a directory nobody else can write to.
    const d = lstat(dir);
    if (!d.isDirectory() || d.uid !== uid || (d.mode & 0o077) !== 0) return;
    const r = lstat(req);
    if (!r.isFile() || (r.uid !== uid && r.uid !== 0)) return;
    orig('fs', 'unlinkSync', fs.unlinkSync)(req);
  } catch {
    return; // no request: a terminal resized, or a stray signal
  }
  if (server !== null) return;
  const path = join(dir, `${process.pid}.sock`);
  try {
    orig('fs', 'unlinkSync', fs.unlinkSync)(path);
  } catch {
    // none left over
  }
  const s = net.createServer({ allowHalfOpen: false }, serve);
  server = s;
  s.on('error', () => closeServer());
  const listen = orig('net', 'Server.prototype.listen', net.Server.prototype.listen) as (this: net.Server, path: string, cb: () => void) => net.Server;
  listen.call(s, path, () => {
    try {
      orig('fs', 'chmodSync', fs.chmodSync)(path, 0o600);
    } catch {
      closeServer();
    }
  });
  s.unref();
  armIdle();
}

function armIdle(): void {
  if (idle !== null) originalClearTimeout(idle);
  idle = originalSetTimeout(closeServer, IDLE_MS);
  idle.unref();
}

function closeServer(): void {
  if (idle !== null) originalClearTimeout(idle);
  idle = null;
  const s = server;
  if (s === null) return;
  server = null;
  s.close(); // unlinks the socket file
}

/** Call `each` with every newline-ended line `sock` receives (both ends speak JSON lines). */
export function onLines(sock: net.Socket, each: (line: string) => void): void {
  sock.setEncoding('utf8');
  let buf = '';
  sock.on('data', (chunk: string) => {
    buf += chunk;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      each(line);
    }
  });
}

function serve(sock: net.Socket): void {
  sock.unref(); // a client attached must not keep the program alive
  let timing = false;
  if (idle !== null) originalClearTimeout(idle);
  onLines(sock, (line) => {
    let reply: unknown;
    try {
      const req = JSON.parse(line) as { op?: unknown; stacks?: unknown };
      if (req.op === 'top' && !timing) {
        timing = true;
        startSlices();
      }
      if (req.op !== 'ps' && req.op !== 'top') throw new Error(`unknown request ${JSON.stringify(req.op)}`);
      reply = hub.outside(snapshot, { stacks: req.stacks !== false });
    } catch (e) {
      reply = { error: e instanceof Error ? e.message : String(e) };
    }
    sock.write(`${JSON.stringify(reply)}\n`);
  });
  const done = (): void => {
    if (timing) stopSlices();
    timing = false;
    closeServer();
  };
  sock.on('close', done);
  sock.on('error', () => sock.destroy());
}
