/** Run a test fixture (TypeScript, through tsx) in its own process; parse its last JSON line. */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface FixtureRun {
  status: number | null;
  stdout: string;
  stderr: string;
  json: Record<string, unknown>;
}

export function runFixture(name: string, args: string[] = [], env: Record<string, string> = {}, nodeArgs: string[] = [], expectJson = true): FixtureRun {
  const script = fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));
  const r = spawnSync(process.execPath, ['--import', 'tsx', ...nodeArgs, script, ...args], {
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
