#!/usr/bin/env node
// The system packages the suite drives for real (servers and a browser started by the
// tests on loopback), installed with apt-get when missing: one `apt-get update`, one
// `apt-get install` of what is missing, once. Where that is impossible (not root and no
// passwordless sudo, or no apt-get) it prints the command to run and fails: never a skip.
// Limits: Debian/Ubuntu only; `node scripts/provision.mjs --check` only reports.
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { pathToFileURL } from 'node:url';

function onPath(cmd) {
  const dirs = (process.env.PATH ?? '').split(delimiter).concat(['/usr/sbin', '/sbin', '/usr/local/sbin']);
  return dirs.some((d) => d && existsSync(join(d, cmd)));
}

/** Debian's PostgreSQL server binaries live in /usr/lib/postgresql/<major>/bin, off PATH. */
function postgresBinDir() {
  let majors = [];
  try {
    majors = readdirSync('/usr/lib/postgresql');
  } catch {
    return null;
  }
  for (const m of majors.sort((a, b) => Number(b) - Number(a))) {
    const bin = join('/usr/lib/postgresql', m, 'bin');
    if (existsSync(join(bin, 'initdb')) && existsSync(join(bin, 'postgres'))) return bin;
  }
  return null;
}

/** What the suite needs: the Debian package, why, and whether it is there. */
export const NEEDS = [
  { pkg: 'redis-server', why: 'BullMQ, ioredis and redis tests', present: () => onPath('redis-server') && onPath('redis-cli') },
  // playwright-core launches this exact path (test/instrument/timeline.test.ts).
  { pkg: 'chromium', why: 'HTML timeline tests via playwright-core', present: () => existsSync('/usr/bin/chromium') },
  { pkg: 'postgresql', why: 'pg tests run initdb/postgres', present: () => postgresBinDir() !== null && onPath('psql') },
  {
    pkg: 'mariadb-server',
    why: 'mysql2 tests',
    present: () => (onPath('mariadbd') || onPath('mysqld')) && (onPath('mariadb-install-db') || onPath('mysql_install_db')),
  },
  // A real terminal for `greenio top` (test/instrument/top.test.ts captures its screen).
  { pkg: 'tmux', why: 'greenio top rendered in a real terminal', present: () => onPath('tmux') },
];

export function missing() {
  return NEEDS.filter((n) => !n.present());
}

function run(argv) {
  const r = spawnSync(argv[0], argv.slice(1), {
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
    env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
  });
  if (r.status !== 0) {
    const tail = `${r.stdout ?? ''}${r.stderr ?? ''}`.trim().split('\n').slice(-15).join('\n');
    throw new Error(`\`${argv.join(' ')}\` failed (${r.error?.message ?? `exit ${r.status}`}):\n${tail}`);
  }
}

/**
 * Install what is missing; resolves to the packages installed (empty when all present).
 * Throws an Error naming the command to run when it cannot install.
 */
export function provision({ log = (s) => console.log(s) } = {}) {
  const need = missing();
  if (need.length === 0) return [];
  const pkgs = need.map((n) => n.pkg);
  const command = `apt-get update && apt-get install -y --no-install-recommends ${pkgs.join(' ')}`;
  const what = need.map((n) => `${n.pkg} (${n.why})`).join(', ');
  if (!onPath('apt-get')) {
    throw new Error(`the test suite needs ${what}, and this machine has no apt-get: install them with your package manager (on Debian/Ubuntu: ${command})`);
  }
  let sudo = [];
  if (process.getuid?.() !== 0) {
    const ok = onPath('sudo') && spawnSync('sudo', ['-n', 'true'], { stdio: 'ignore' }).status === 0;
    if (!ok) throw new Error(`the test suite needs ${what}; not root and no passwordless sudo, so run: sudo sh -c '${command}'`);
    sudo = ['sudo', '-n'];
  }
  console.log(`greenio test: installing ${what} with apt-get (the suite runs them for real)`);
  try {
    run([...sudo, 'apt-get', 'update', '-qq']);
    run([...sudo, 'apt-get', 'install', '-y', '-qq', '--no-install-recommends', ...pkgs]);
  } catch (err) {
    throw new Error(`installing ${pkgs.join(' ')} failed; run: ${command}\n${err.message}`);
  }
  const still = missing();
  if (still.length > 0) {
    throw new Error(`after apt-get install, still missing: ${still.map((n) => n.pkg).join(', ')}; run: ${command}`);
  }
  log(`greenio test: installed ${pkgs.join(', ')}`);
  return pkgs;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  if (process.argv.includes('--check')) {
    const need = missing();
    console.log(need.length === 0 ? 'all present' : `missing: ${need.map((n) => `${n.pkg} (${n.why})`).join(', ')}`);
    process.exit(need.length === 0 ? 0 : 1);
  }
  try {
    provision();
  } catch (err) {
    console.error(`greenio test: ${err.message}`);
    process.exit(1);
  }
}
