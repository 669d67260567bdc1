/**
 * The client side of `greenio ps|top PID`: checks the privilege (same user or root),
 * leaves a request in the target user's 0700 directory, sends SIGWINCH, waits for the
 * target's Unix socket and asks it for snapshots (line-delimited JSON). Limits: Linux
 * and macOS (Unix sockets, `process.kill(pid, 0)`); the target's TMPDIR is read from
 * /proc when it can be, else the caller's is assumed.
 */
import { chownSync, closeSync, existsSync, lstatSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ATTACH_SIGNAL, attachDir, onLines } from './attach.js';
import type { PsSnapshot } from './ps.js';

/** A refusal to attach, with the reason (the CLI prints it and exits 1). */
export class AttachError extends Error {
  override name = 'AttachError';
}

/** An open connection to a live process. */
export interface AttachSession {
  /** One snapshot; `top` also switches busy/idle/scheduled accounting on in the target. */
  request(op: 'ps' | 'top', stacks?: boolean): Promise<PsSnapshot>;
  close(): void;
}

function targetUid(pid: number): number {
  try {
    return statSync(`/proc/${pid}`).uid;
  } catch {
    return process.getuid!();
  }
}

function targetTmp(pid: number): string {
  try {
    const env = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    const t = env.find((e) => e.startsWith('TMPDIR='));
    if (t !== undefined && t.length > 7) return t.slice(7).replace(/\/+$/, '') || '/';
  } catch {
    // not Linux, or not readable: assume ours
  }
  return tmpdir();
}

/** Why `pid` cannot answer now, if it is stopped (Linux: its state in /proc is `T` or `t`). */
function stoppedReason(pid: number): string | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (state === 'T' || state === 't') {
      return `process ${pid} is stopped (${state === 't' ? 'by a debugger' : 'SIGSTOP, Ctrl-Z or a debugger'}): continue it (kill -CONT ${pid}) and ask again`;
    }
  } catch {
    // not Linux, or gone: the wait below says so
  }
  return null;
}

function sleepMs(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** Attach to `pid` (within `waitMs` for its answer). */
export async function attach(pid: number, waitMs = 5000): Promise<AttachSession> {
  if (!Number.isInteger(pid) || pid <= 0) throw new AttachError(`expected a process id, got '${pid}'`);
  if (typeof process.getuid !== 'function') throw new AttachError('attaching needs a Unix system');
  try {
    process.kill(pid, 0);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'EPERM') throw new AttachError(`process ${pid} belongs to another user: attaching needs the same user or root`);
    throw new AttachError(`no process ${pid}`);
  }
  const me = process.getuid();
  const uid = targetUid(pid);
  if (me !== 0 && uid !== me) throw new AttachError(`process ${pid} belongs to another user: attaching needs the same user or root`);
  // A stopped process would only answer once continued: say so now rather than time out.
  const stopped = stoppedReason(pid);
  if (stopped !== null) throw new AttachError(stopped);
  const dir = attachDir(uid, targetTmp(pid));
  if (!existsSync(dir)) {
    mkdirSync(dir, { mode: 0o700 });
    if (uid !== me) chownSync(dir, uid, statSync(`/proc/${pid}`).gid);
  }
  const d = lstatSync(dir);
  if (!d.isDirectory() || d.uid !== uid || (d.mode & 0o077) !== 0) {
    throw new AttachError(`${dir} must be a directory of user ${uid} with mode 0700: refusing to use it`);
  }
  const req = join(dir, `${pid}.req`);
  const sock = join(dir, `${pid}.sock`);
  closeSync(openSync(req, 'w', 0o600));
  process.kill(pid, ATTACH_SIGNAL);
  const deadline = Date.now() + waitMs;
  let socket: net.Socket | null = null;
  while (socket === null) {
    if (existsSync(sock)) socket = await connect(sock).catch(() => null);
    if (socket !== null) break;
    if (Date.now() > deadline) {
      try {
        unlinkSync(req);
      } catch {
        // taken meanwhile
      }
      throw new AttachError(stoppedReason(pid) ?? `process ${pid} did not answer within ${waitMs} ms: it does not run greenio (with attach support), or its event loop is blocked`);
    }
    await sleepMs(20);
  }
  return session(socket);
}

function connect(path: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(path);
    s.once('connect', () => {
      s.removeListener('error', reject);
      resolve(s);
    });
    s.once('error', reject);
  });
}

function session(sock: net.Socket): AttachSession {
  const pending: Array<{ resolve(v: PsSnapshot): void; reject(e: Error): void }> = [];
  let closed: Error | null = null;
  onLines(sock, (line) => {
    const p = pending.shift();
    if (p === undefined) return;
    const v = JSON.parse(line) as PsSnapshot & { error?: string };
    if (typeof v.error === 'string') p.reject(new AttachError(`the process refused: ${v.error}`));
    else p.resolve(v);
  });
  const fail = (e: Error): void => {
    closed = e;
    for (const p of pending.splice(0)) p.reject(e);
  };
  sock.on('error', (e) => fail(new AttachError(`connection lost: ${e.message}`)));
  sock.on('close', () => fail(new AttachError('the process closed the connection (it exited?)')));
  return {
    request(op, stacks = true) {
      if (closed !== null) return Promise.reject(closed);
      return new Promise((resolve, reject) => {
        pending.push({ resolve, reject });
        sock.write(`${JSON.stringify({ op, stacks })}\n`);
      });
    },
    close() {
      sock.end();
      sock.destroy();
    },
  };
}
