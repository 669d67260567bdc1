/**
 * A real MariaDB server for the mysql2 tests and benchmark: Debian's `mariadbd` on
 * 127.0.0.1 and a free port, an empty data dir in a temp dir, `--skip-grant-tables`
 * (any user, every privilege: no `mariadb-install-db`, so it starts in a few seconds).
 * A machine without `mariadbd` is an error with the install line, never a skip.
 * Limits: one server per call; stopped (and its dir removed) by `stop()`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../bullmq/redis.js';

/** A running MariaDB. */
export interface MariaDBServer {
  host: string;
  port: number;
  /** `{ host, port, user, database }`, ready for `mysql.createConnection(...)`. */
  config: { host: string; port: number; user: string; database: string };
  pid: number;
  /** `mariadb -N -B -e sql` against it, returning stdout. */
  sql(sql: string): string;
  stop(): Promise<void>;
}

function which(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).status === 0;
}

/** Throw a clear error when MariaDB is not installed (tests must not skip). */
export function requireMariaDB(): void {
  if (!which('mariadbd') || !which('mariadb')) {
    throw new Error(
      'MariaDB is not installed: the mysql2 tests run against a real server. Install it with ' +
        '`apt-get install -y mariadb-server` (Debian/Ubuntu; `npm test` does it on a fresh machine).',
    );
  }
}

const asRoot = process.getuid?.() === 0;

/** Start a fresh server with an empty database `test`; resolves once it answers. */
export async function startMariaDB(): Promise<MariaDBServer> {
  requireMariaDB();
  const dir = mkdtempSync(join(tmpdir(), 'greenio-maria-'));
  const data = join(dir, 'data');
  mkdirSync(data);
  const user = asRoot ? 'mysql' : (process.env.USER ?? 'nobody');
  if (asRoot) {
    const uid = Number(spawnSync('id', ['-u', 'mysql'], { encoding: 'utf8' }).stdout);
    const gid = Number(spawnSync('id', ['-g', 'mysql'], { encoding: 'utf8' }).stdout);
    chownSync(dir, uid, gid);
    chownSync(data, uid, gid);
  }
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const args = ['--no-defaults', `--user=${user}`, `--datadir=${data}`, `--port=${port}`, '--bind-address=127.0.0.1',
      `--socket=${join(dir, 'sock')}`, `--pid-file=${join(dir, 'pid')}`, '--skip-grant-tables', '--skip-log-bin',
      '--innodb-buffer-pool-size=32M', '--innodb-log-file-size=16M', '--innodb-flush-log-at-trx-commit=2',
      '--max-connections=300', '--skip-name-resolve'];
    const client = (sql: string): string => {
      const r = spawnSync('mariadb', ['--no-defaults', '-h', '127.0.0.1', '-P', String(port), '-u', 'root', '-N', '-B', '-e', sql], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`mariadb -e ${sql}: ${r.stderr}`);
      return r.stdout.trim();
    };
    // A watchdog shell: the server goes when stop() is called, and also when this process
    // dies without calling it.
    const quoted = ['mariadbd', ...args].map((a) => `'${a}'`).join(' ');
    const child: ChildProcess = spawn('sh', ['-c',
      `${quoted} & r=$!; echo "pid $r"; trap 'kill -TERM $r; wait $r; exit 0' TERM INT; ` +
      `while kill -0 ${process.pid} 2>/dev/null && kill -0 $r 2>/dev/null; do sleep 1 & wait $!; done; kill -9 $r 2>/dev/null`],
    { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    let exited = false;
    child.once('exit', () => (exited = true));
    for (let i = 0; i < 600 && !exited; i++) {
      const pid = /pid (\d+)/.exec(log);
      if (pid !== null && log.includes('ready for connections')) {
        client('CREATE DATABASE IF NOT EXISTS test');
        const config = { host: '127.0.0.1', port, user: 'root', database: 'test' };
        return {
          host: config.host,
          port,
          config,
          pid: Number(pid[1]),
          sql: client,
          async stop() {
            if (child.exitCode === null && child.signalCode === null) {
              const gone = new Promise((r) => child.once('exit', r));
              child.kill('SIGTERM');
              await gone;
            }
            rmSync(dir, { recursive: true, force: true });
          },
        };
      }
      await new Promise((r) => setTimeout(r, 25));
    }
    if (!exited) child.kill('SIGTERM');
    if (attempt >= 3 || !/bind|in use/i.test(log)) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`mariadbd did not start on port ${port}:\n${log}`);
    }
  }
}
