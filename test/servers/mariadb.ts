/**
 * A real MariaDB server for the mysql2 tests and benchmark: Debian's `mariadbd` on
 * 127.0.0.1 and a free port, an empty data dir in a temp dir, `--skip-grant-tables`
 * (any user, every privilege: no `mariadb-install-db`, so it starts in a few seconds).
 * A machine without `mariadbd` is an error with the install line, never a skip.
 * Limits: one server per call; stopped (and its dir removed) by `stop()`.
 */
import { spawnSync } from 'node:child_process';
import { chownSync, mkdtempSync, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startWatched, which } from './common.js';

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
  let port = 0;
  const client = (sql: string): string => {
    const r = spawnSync('mariadb', ['--no-defaults', '-h', '127.0.0.1', '-P', String(port), '-u', 'root', '-N', '-B', '-e', sql], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`mariadb -e ${sql}: ${r.stderr}`);
    return r.stdout.trim();
  };
  const server = await startWatched({
    name: 'mariadbd',
    argv: (p) => ['mariadbd', '--no-defaults', `--user=${user}`, `--datadir=${data}`, `--port=${p}`, '--bind-address=127.0.0.1',
      `--socket=${join(dir, 'sock')}`, `--pid-file=${join(dir, 'pid')}`, '--skip-grant-tables', '--skip-log-bin',
      '--innodb-buffer-pool-size=32M', '--innodb-log-file-size=16M', '--innodb-flush-log-at-trx-commit=2',
      '--max-connections=300', '--skip-name-resolve'],
    onStop: 'kill -TERM $r; wait $r; exit 0',
    onOrphan: 'kill -9 $r 2>/dev/null',
    ready: (log) => log.includes('ready for connections'),
    polls: 600,
    portTaken: (log) => /bind|in use/i.test(log),
    onFail: () => rmSync(dir, { recursive: true, force: true }),
  });
  port = server.port;
  client('CREATE DATABASE IF NOT EXISTS test');
  const config = { host: '127.0.0.1', port, user: 'root', database: 'test' };
  return {
    host: config.host,
    port,
    config,
    pid: server.pid,
    sql: client,
    async stop() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
