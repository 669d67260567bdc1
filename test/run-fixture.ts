/** Run a test fixture (TypeScript, through tsx) in its own process; parse its last JSON line. */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface FixtureRun {
  status: number | null;
  stdout: string;
  stderr: string;
  json: Record<string, unknown>;
}

/**
 * `GREENIO_TEST_MAJORS=next` (in `env`, or in the suite's own environment to run every
 * client fixture so): run the fixture against the other majors installed in client-majors/
 * (the newest of ioredis, redis, postgres, undici; node-redis 4 as `redis4`), apart from
 * the repository's own. The fixture then runs from client-majors/fixtures, a link to
 * test/fixtures, with symlinks kept as written, so that its bare imports (`import { Redis }
 * from 'ioredis'`, as users write them) resolve to client-majors/node_modules first and
 * everything else (greenio's src/, through the same relative paths) as usual. Limit: a
 * fixture importing ../helpers.ts (test/) does not run from there.
 */
export const NEXT_MAJORS = { GREENIO_TEST_MAJORS: 'next' } as const;

/**
 * False in `npm run test:loaded` (GREENIO_TEST_LOADED): the client tests then run against
 * the installed clients only. The other majors check compatibility, which load does not
 * change, and the loaded run is CI's longest.
 */
export const OTHER_MAJORS = process.env.GREENIO_TEST_LOADED !== '1';

export function runFixture(name: string, args: string[] = [], env: Record<string, string> = {}, nodeArgs: string[] = [], expectJson = true): FixtureRun {
  const next = (env.GREENIO_TEST_MAJORS ?? process.env.GREENIO_TEST_MAJORS) === 'next';
  const script = fileURLToPath(new URL(next ? `../client-majors/fixtures/${name}` : `./fixtures/${name}`, import.meta.url));
  const keepLinks = next ? ['--preserve-symlinks', '--preserve-symlinks-main'] : [];
  const r = spawnSync(process.execPath, [...keepLinks, '--import', 'tsx', ...nodeArgs, script, ...args], {
    encoding: 'utf8',
    timeout: 60_000,
    // No tsx transform cache: its cache IO (on a cold cache) would be the fixture's own
    // main-greenlet IO, and fixtures count IO exactly.
    env: { ...process.env, TSX_DISABLE_CACHE: '1', ...env },
  });
  const last = r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (last === undefined && !expectJson) return { status: r.status, stdout: r.stdout, stderr: r.stderr, json: {} };
  if (last === undefined) {
    // Say why, rather than letting a test compare against an empty object.
    const why = r.error ? String(r.error) : `exit ${r.status ?? r.signal}`;
    throw new Error(`fixture ${name} printed no JSON (${why})\n--- stderr ---\n${r.stderr.slice(-4000)}\n--- stdout ---\n${r.stdout.slice(-2000)}`);
  }
  const json = JSON.parse(last) as Record<string, unknown>;
  return { status: r.status, stdout: r.stdout, stderr: r.stderr, json };
}
