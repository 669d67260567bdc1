/** Shared helpers of the BullMQ tests: bounded polling, silent and counting servers, processes. */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { once } from 'node:events';
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { fileURLToPath } from 'node:url';

export const root = fileURLToPath(new URL('../..', import.meta.url));

/** Poll `check` every 25 ms until it returns a truthy value; throw with `what` after `ms`. */
export async function until<T>(check: () => T | Promise<T>, ms: number, what: string): Promise<NonNullable<T>> {
  const deadline = Date.now() + ms;
  let last: T | undefined;
  for (let i = 0; Date.now() < deadline && i < 100_000; i++) {
    last = await check();
    if (last) return last as NonNullable<T>;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what} (last: ${JSON.stringify(last)})`);
}

/** A TCP server that accepts and never answers; counts connections opened and closed. */
export interface SilentServer {
  port: number;
  opened: number;
  closed: number;
  stop(): Promise<void>;
}

export async function silentServer(host = '127.0.0.1'): Promise<SilentServer> {
  const sockets = new Set<Socket>();
  const state = { opened: 0, closed: 0 };
  const server: Server = createServer((s) => {
    state.opened++;
    sockets.add(s);
    s.on('error', () => {});
    s.on('close', () => {
      state.closed++;
      sockets.delete(s);
    });
  });
  server.listen(0, host);
  await once(server, 'listening');
  return {
    port: (server.address() as { port: number }).port,
    get opened() {
      return state.opened;
    },
    get closed() {
      return state.closed;
    },
    async stop() {
      for (const s of sockets) s.destroy();
      server.close();
      await once(server, 'close');
    },
  };
}

/** An HTTP server answering `GET /job/<id>` after `delayMs`, counting hits per path and client address. */
export interface CountingServer {
  port: number;
  hits: Map<string, number>;
  /** Remote addresses the requests came from (the "machines"). */
  from: Map<string, number>;
  /** TCP connections accepted so far (fewer than requests when clients keep them alive). */
  readonly connections: number;
  stop(): Promise<void>;
}

export async function countingServer(delayMs = 5, host = '127.0.0.1'): Promise<CountingServer> {
  const hits = new Map<string, number>();
  const from = new Map<string, number>();
  const server = createHttpServer((req: IncomingMessage, res: ServerResponse) => {
    const path = req.url ?? '/';
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const addr = req.socket.remoteAddress ?? '?';
    from.set(addr, (from.get(addr) ?? 0) + 1);
    setTimeout(() => res.end(`ok ${path}`), delayMs);
  });
  server.keepAliveTimeout = 1000;
  let connections = 0;
  server.on('connection', () => connections++);
  server.listen(0, host);
  await once(server, 'listening');
  return {
    port: (server.address() as { port: number }).port,
    hits,
    from,
    get connections() {
      return connections;
    },
    async stop() {
      server.closeAllConnections();
      server.close();
      await once(server, 'close');
    },
  };
}

/** A child process with its output collected; `waitFor(re)` waits for a line of stdout/stderr. */
export interface Proc {
  child: ChildProcess;
  /** Started in its own process group (kill the group with `process.kill(-pid)`). */
  detached: boolean;
  out(): string;
  waitFor(re: RegExp, ms: number): Promise<string>;
  exited(ms: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export function startProc(cmd: string, args: string[], env: NodeJS.ProcessEnv = {}, options: { detached?: boolean } = {}): Proc {
  const child = spawn(cmd, args, { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: options.detached === true });
  let text = '';
  child.stdout!.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (text += d.toString()));
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return {
    child,
    detached: options.detached === true,
    out: () => text,
    async waitFor(re, ms) {
      await until(() => re.test(text) || child.exitCode !== null, ms, `${re} in the output of ${args.join(' ')}`);
      const m = re.exec(text);
      if (m === null) throw new Error(`process exited (${child.exitCode}) before ${re}:\n${text}`);
      return m[0];
    },
    async exited(ms) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`still running after ${ms} ms:\n${text}`)), ms)));
      try {
        return await Promise.race([exit, late]);
      } finally {
        clearTimeout(timer);
      }
    },
  };
}

/** True if the pid is alive (a zombie, dead but not reaped yet, counts as dead). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    // `pid (comm) S ...`: the state follows the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}
