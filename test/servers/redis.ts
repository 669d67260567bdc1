/**
 * A real Redis server for the tests, benchmarks and examples (BullMQ, ioredis, redis): Debian's
 * `redis-server`, started on a free loopback port with persistence off, stopped by
 * `stop()`. A machine without `redis-server` is an error with the install line, never a
 * skip. Limits: one server per call, loopback unless `bind` says otherwise.
 */
import { spawnSync } from 'node:child_process';
import { connect } from 'node:net';
import { freePort, startWatched, which } from './common.js';

export { freePort };

/** A running `redis-server`. */
export interface RedisServer {
  port: number;
  url: string;
  pid: number;
  /** `redis-cli` against it, returning stdout (e.g. `['info', 'commandstats']`). */
  cli(args: string[]): string;
  stop(): Promise<void>;
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
  const server = await startWatched({
    name: 'redis-server',
    argv: (port) => ['redis-server', '--port', String(port), '--bind', bind.join(' '), '--save', '', '--appendonly', 'no', '--protected-mode', 'no', '--loglevel', 'warning'],
    onStop: 'kill -9 $r; exit 0',
    onOrphan: 'kill -9 $r 2>/dev/null',
    ready: (_log, port) => answersPing(port, '127.0.0.1'),
    polls: 200,
    portTaken: () => true,
  });
  const { port } = server;
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    pid: server.pid,
    cli: (args) => spawnSync('redis-cli', ['-p', String(port), ...args], { encoding: 'utf8' }).stdout,
    stop: server.stop,
  };
}
