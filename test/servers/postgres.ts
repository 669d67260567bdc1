/**
 * A real PostgreSQL server for the pg tests and benchmark: Debian's `postgresql`
 * binaries, `initdb` in a temp dir (trust auth, fsync off), `postgres` on 127.0.0.1 and a
 * free port with its unix socket in the temp dir, run as user `postgres` (through `setpriv`)
 * when the tests run as root. A machine without the binaries is an error with the install line, never a
 * skip. Limits: one server per call; stopped (and its dir removed) by `stop()`.
 */
import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startWatched } from './common.js';

/** A running PostgreSQL. */
export interface PostgresServer {
  host: string;
  port: number;
  user: string;
  database: string;
  /** `{ host, port, user, database }`, ready for `new pg.Client(...)`. */
  config: { host: string; port: number; user: string; database: string };
  pid: number;
  /** `psql -At -c sql` against it, returning stdout. */
  psql(sql: string): string;
  stop(): Promise<void>;
}

/** The newest `/usr/lib/postgresql/<version>/bin`, or throw the install message. */
export function postgresBin(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'initdb'))) : [];
  if (versions.length === 0) {
    throw new Error(
      'PostgreSQL is not installed: the pg tests run against a real server. Install it with ' +
        '`apt-get install -y postgresql` (Debian/Ubuntu; `npm test` does it on a fresh machine).',
    );
  }
  versions.sort((a, b) => Number(b) - Number(a));
  return join(root, versions[0]!, 'bin');
}

const asRoot = process.getuid?.() === 0;

// Run a server binary as `postgres` (initdb and postgres refuse to run as root).
// setpriv execs in place (runuser would stay the parent and not pass signals on).
function command(bin: string, args: string[]): [string, string[]] {
  return asRoot ? ['setpriv', ['--reuid=postgres', '--regid=postgres', '--init-groups', '--', bin, ...args]] : [bin, args];
}

/** Start a fresh cluster on a free port; resolves once it accepts queries. */
export async function startPostgres(): Promise<PostgresServer> {
  const bin = postgresBin();
  const dir = mkdtempSync(join(tmpdir(), 'greenio-pg-'));
  if (asRoot) chownSync(dir, Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout), Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout));
  const data = join(dir, 'data');
  const [icmd, iargs] = command(join(bin, 'initdb'), ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8', '--locale=C']);
  const init = spawnSync(icmd, iargs, { encoding: 'utf8' });
  if (init.status !== 0) throw new Error(`initdb failed (${init.status}): ${init.stderr}${init.stdout}`);
  let port = 0;
  const psql = (sql: string): string => {
    const r = spawnSync(join(bin, 'psql'), ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-d', 'postgres', '-At', '-c', sql], { encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`psql ${sql}: ${r.stderr}`);
    return r.stdout.trim();
  };
  const server = await startWatched({
    name: 'postgres',
    argv: (p) => {
      const [cmd, cargs] = command(join(bin, 'postgres'), ['-D', data, '-p', String(p), '-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${dir}`,
        '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=200']);
      return [cmd, ...cargs];
    },
    // SIGQUIT: immediate shutdown, backends included.
    onStop: 'kill -QUIT $r; wait $r; exit 0',
    onOrphan: 'kill -QUIT $r 2>/dev/null; wait $r',
    ready: (log) => log.includes('ready to accept connections'),
    polls: 400,
    portTaken: (log) => /could not (bind|create)/i.test(log),
    onFail: () => rmSync(dir, { recursive: true, force: true }),
  });
  port = server.port;
  const config = { host: '127.0.0.1', port, user: 'postgres', database: 'postgres' };
  return {
    ...config,
    config,
    pid: server.pid,
    psql,
    async stop() {
      await server.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
