/**
 * A real PostgreSQL server for the pg tests and benchmark: Debian's `postgresql`
 * binaries, `initdb` in a temp dir (trust auth, fsync off), `postgres` on 127.0.0.1 and a
 * free port with its unix socket in the temp dir, run as user `postgres` (through `setpriv`)
 * when the tests run as root. A machine without the binaries is an error with the install line, never a
 * skip. Limits: one server per call; stopped (and its dir removed) by `stop()`.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../bullmq/redis.js';

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
  for (let attempt = 0; ; attempt++) {
    const port = await freePort();
    const args = ['-D', data, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', `unix_socket_directories=${dir}`,
      '-c', 'fsync=off', '-c', 'synchronous_commit=off', '-c', 'full_page_writes=off', '-c', 'max_connections=200'];
    const [cmd, cargs] = command(join(bin, 'postgres'), args);
    // A watchdog shell: the server goes when stop() is called, and also when this process
    // dies without calling it (SIGQUIT: immediate shutdown, backends included).
    const quoted = [cmd, ...cargs].map((a) => `'${a}'`).join(' ');
    const child: ChildProcess = spawn('sh', ['-c',
      `${quoted} & r=$!; echo "pid $r"; trap 'kill -QUIT $r; wait $r; exit 0' TERM INT; ` +
      `while kill -0 ${process.pid} 2>/dev/null && kill -0 $r 2>/dev/null; do sleep 1 & wait $!; done; kill -QUIT $r 2>/dev/null; wait $r`],
    { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stdout!.on('data', (d: Buffer) => (log += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (log += d.toString()));
    let exited = false;
    child.once('exit', () => (exited = true));
    const psql = (sql: string): string => {
      const r = spawnSync(join(bin, 'psql'), ['-h', '127.0.0.1', '-p', String(port), '-U', 'postgres', '-d', 'postgres', '-At', '-c', sql], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`psql ${sql}: ${r.stderr}`);
      return r.stdout.trim();
    };
    for (let i = 0; i < 400 && !exited; i++) {
      const pid = /pid (\d+)/.exec(log);
      if (pid !== null && log.includes('ready to accept connections')) {
        const config = { host: '127.0.0.1', port, user: 'postgres', database: 'postgres' };
        return {
          ...config,
          config,
          pid: Number(pid[1]),
          psql,
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
    // Another process may have taken the port between freePort() and the bind: retry.
    if (attempt >= 3 || !/could not (bind|create)/i.test(log)) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`postgres did not start on port ${port}:\n${log}`);
    }
  }
}
