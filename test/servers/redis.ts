/**
 * A real Redis server for the tests, benchmarks and examples (BullMQ, ioredis, redis): Debian's
 * `redis-server`, started on a free loopback port with persistence off, stopped by
 * `stop()`. A machine without `redis-server` is an error with the install line, never a
 * skip. Limits: one server per call, loopback unless `bind` says otherwise.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { connect, createServer } from 'node:net';

/** A running `redis-server`. */
export interface RedisServer {
  port: number;
  url: string;
  pid: number;
  /** `redis-cli` against it, returning stdout (e.g. `['info', 'commandstats']`). */
  cli(args: string[]): string;
  stop(): Promise<void>;
}

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

function which(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).status === 0;
}

/** Throw a clear error when `redis-server` is not installed (tests must not skip). */
export function requireRedisServer(): void {
  if (!which('redis-server') || !which('redis-cli')) {
    throw new Error(
      'redis-server is not installed: the Redis tests run against a real Redis. Install it with ' +
        '`apt-get install -y redis-server` (Debian/Ubuntu), or put redis-server and redis-cli on PATH.',
    );
  }
}

async function answersPing(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, host);
    let out = '';
    s.setEncoding('utf8');
    s.on('connect', () => s.write('PING\r\n'));
    s.on('data', (d: string) => {
      out += d;
      if (out.includes('\r\n')) {
        s.destroy();
        resolve(out.startsWith('+PONG'));
      }
    });
    s.on('error', () => resolve(false));
  });
}

/**
 * Start `redis-server --port P --save '' --appendonly no` on a free port and wait until
 * it answers PING. `bind` lists the addresses to listen on (default 127.0.0.1).
 */
export async function startRedis(options: { bind?: string[] } = {}): Promise<RedisServer> {
  requireRedisServer();
  const bind = options.bind ?? ['127.0.0.1'];
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const args = ['--port', String(port), '--bind', bind.join(' '), '--save', '', '--appendonly', 'no', '--protected-mode', 'no', '--loglevel', 'warning'];
    // A watchdog shell around it: redis-server goes when stop() is called, and also when
    // this process dies without calling it (a killed test run leaves no server behind).
    const quoted = args.map((a) => `'${a}'`).join(' ');
    const child: ChildProcess = spawn(
      'sh',
      ['-c', `redis-server ${quoted} & r=$!; echo "pid $r"; trap 'kill -9 $r; exit 0' TERM INT; ` +
        `while kill -0 ${process.pid} 2>/dev/null && kill -0 $r 2>/dev/null; do sleep 1 & wait $!; done; kill -9 $r 2>/dev/null`],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let log = '';
    child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    let exited = false;
    child.once('exit', () => (exited = true));
    for (let i = 0; i < 200 && !exited; i++) {
      const pid = /pid (\d+)/.exec(log);
      if (pid !== null && (await answersPing(port, '127.0.0.1'))) {
        return {
          port,
          url: `redis://127.0.0.1:${port}`,
          pid: Number(pid[1]),
          cli: (args) => spawnSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8' }).stdout,
          async stop() {
            if (child.exitCode !== null || child.signalCode !== null) return;
            const gone = once(child, 'exit');
            child.kill('SIGTERM'); // the watchdog kills redis-server, then exits
            await gone;
          },
        };
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    if (!exited) child.kill('SIGTERM');
    // Another process may have taken the port between freePort() and the bind: retry.
    if (attempt >= 3) throw new Error(`redis-server did not start on port ${port}:\n${log}`);
  }
}
