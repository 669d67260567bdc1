/**
 * What the real-server helpers (redis.ts, postgres.ts, mariadb.ts) share: a free port, a
 * `command -v` check, and starting a server under a watchdog shell on a free port, retried
 * when another process takes the port first. Limits: Linux/`sh` only; each server says
 * how it is stopped (the trap) and when it is ready.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';

/** A free TCP port on 127.0.0.1 (the kernel's pick; closed again before returning). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  const s = createServer();
  s.listen(0, host);
  await once(s, 'listening');
  const port = (s.address() as { port: number }).port;
  s.close();
  await once(s, 'close');
  return port;
}

export function which(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).status === 0;
}

/** How to run one kind of server under the watchdog. */
export interface WatchedServer {
  /** Shown in the error when it does not start. */
  name: string;
  /** The server's argv for a port. */
  argv(port: number): string[];
  /** Shell run on TERM/INT (stop()): stops `$r`, the server. */
  onStop: string;
  /** Shell run when this process is gone without calling stop(). */
  onOrphan: string;
  /** Ready to serve, given its output so far. */
  ready(log: string, port: number): boolean | Promise<boolean>;
  /** Polls of 25 ms before giving up on an attempt. */
  polls: number;
  /** Whether a failed start was a lost port (worth another attempt). */
  portTaken(log: string): boolean;
  /** Run before throwing the final start error (e.g. remove the data dir). */
  onFail?(): void;
}

/** A started server: its port and pid, and a stop() that waits for the watchdog to exit. */
export interface Started {
  port: number;
  pid: number;
  stop(): Promise<void>;
}

/** Start `s` on a free port; up to four attempts when the port is taken in between. */
export async function startWatched(s: WatchedServer): Promise<Started> {
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    // A watchdog shell: the server goes when stop() is called, and also when this process
    // dies without calling it (a killed test run leaves no server behind).
    const quoted = s.argv(port).map((a) => `'${a}'`).join(' ');
    const child: ChildProcess = spawn('sh', ['-c',
      `${quoted} & r=$!; echo "pid $r"; trap '${s.onStop}' TERM INT; ` +
      `while kill -0 ${process.pid} 2>/dev/null && kill -0 $r 2>/dev/null; do sleep 1 & wait $!; done; ${s.onOrphan}`],
    { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    let exited = false;
    child.once('exit', () => (exited = true));
    for (let i = 0; i < s.polls && !exited; i++) {
      const pid = /pid (\d+)/.exec(log);
      if (pid !== null && (await s.ready(log, port))) {
        return {
          port,
          pid: Number(pid[1]),
          async stop() {
            if (child.exitCode !== null || child.signalCode !== null) return;
            const gone = once(child, 'exit');
            child.kill('SIGTERM'); // the watchdog stops the server, then exits
            await gone;
          },
        };
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    if (!exited) child.kill('SIGTERM');
    // Another process may have taken the port between freePort() and the bind: retry.
    if (attempt >= 3 || !s.portTaken(log)) {
      s.onFail?.();
      throw new Error(`${s.name} did not start on port ${port}:\n${log}`);
    }
  }
}
