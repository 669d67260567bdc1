// Other majors of the client libraries greenio integrates, installed in client-majors/ apart
// from the repository's own node_modules (which holds one version per package name): the
// newest of ioredis, redis, postgres and undici, and node-redis 4 as `redis4`, so that the
// client tests run their fixtures against them too (test/run-fixture.ts). `npm test` calls `ensureClientMajors()`: it runs `npm ci` there
// when a package of its lock file is missing or at another version, and does nothing
// otherwise. Limit: needs the npm registry on the first run, as `npm install` does.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const dir = resolve(dirname(fileURLToPath(import.meta.url)), '../client-majors');

/** The packages of client-majors' lock file that are not installed at their locked version. */
function stale() {
  const lock = JSON.parse(readFileSync(join(dir, 'package-lock.json'), 'utf8'));
  const out = [];
  for (const [path, entry] of Object.entries(lock.packages ?? {})) {
    if (!path.startsWith('node_modules/') || entry.version === undefined) continue;
    const file = join(dir, path, 'package.json');
    const have = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')).version : null;
    if (have !== entry.version) out.push(`${path.slice('node_modules/'.length)}@${entry.version}`);
  }
  return out;
}

/** Install client-majors/ from its lock file if anything in it is missing or stale; throws with the command to run when npm fails. */
export function ensureClientMajors(log = console.log) {
  const missing = stale();
  if (missing.length === 0) return;
  log(`greenio test: installing the clients' other majors in client-majors/ (${missing.length} packages: ${missing.slice(0, 4).join(', ')}${missing.length > 4 ? ', ...' : ''})`);
  // The npm that runs `npm test` when there is one (npm_execpath), else npm on the PATH.
  const npmCli = process.env.npm_execpath;
  const [cmd, pre] = npmCli && existsSync(npmCli) ? [process.execPath, [npmCli]] : ['npm', []];
  const r = spawnSync(cmd, [...pre, 'ci', '--no-audit', '--no-fund', '--loglevel=error'], { cwd: dir, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`installing client-majors/ failed (${r.error?.message ?? `exit ${r.status}`}); run: (cd client-majors && npm ci)`);
  const still = stale();
  if (still.length > 0) throw new Error(`after npm ci in client-majors/, still missing: ${still.join(', ')}`);
}
