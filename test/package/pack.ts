/**
 * The package as a user gets it: `npm pack` of the repository (dist must be built, as
 * `npm test` does first), and npm itself run in temp projects. Limits: packs with
 * --ignore-scripts (prepack's build already ran), so a stale dist is what gets packed.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

/** Result of a finished command. */
export interface Ran {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Run a command to completion without blocking the event loop (vitest's timers keep running). */
export function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): Promise<Ran> {
  return new Promise((res, rej) => {
    const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', rej);
    child.on('close', (status) => res({ status, stdout, stderr }));
  });
}

/** npm, quiet and offline-first: the registry is only asked for what is not cached. */
export function npm(args: string[], cwd: string): Promise<Ran> {
  return run('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], cwd, { npm_config_update_notifier: 'false' });
}

/** Fail with the command's own output when it did not succeed. */
export function ok(r: Ran, what: string): Ran {
  if (r.status !== 0) throw new Error(`${what} failed (exit ${r.status}):\n${r.stdout.slice(-3000)}\n${r.stderr.slice(-3000)}`);
  return r;
}

/** An npm error that means "the registry cannot be reached" gets a message saying so. */
export function registryHint(r: Ran): string {
  const text = `${r.stdout}\n${r.stderr}`;
  return /ENOTFOUND|ECONNREFUSED|ETIMEDOUT|EAI_AGAIN|ENOTCACHED|network/i.test(text)
    ? 'the npm registry cannot be reached (and the packages are not in the npm cache): run this test once with network access'
    : '';
}

function requireBuilt(): void {
  if (!existsSync(join(root, 'dist/src/index.d.ts')) || !existsSync(join(root, 'dist/src/cli.js'))) {
    throw new Error('dist/ is not built: run `npm run build` (npm test builds first)');
  }
}

/** What `npm pack --dry-run --json` says it would put in the tarball. */
export function packList(): string[] {
  requireBuilt();
  const r = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts', '--loglevel=error'], { cwd: root, encoding: 'utf8' });
  ok({ status: r.status, stdout: r.stdout, stderr: r.stderr }, 'npm pack --dry-run');
  const [info] = JSON.parse(r.stdout) as [{ files: { path: string }[] }];
  return info.files.map((f) => f.path);
}

/** Pack the repository into `dest`; the tarball's path. */
export async function packInto(dest: string): Promise<string> {
  requireBuilt();
  const r = ok(await npm(['pack', '--json', '--ignore-scripts', '--pack-destination', dest], root), 'npm pack');
  const [info] = JSON.parse(r.stdout) as [{ filename: string }];
  return join(dest, info.filename);
}

/** The repository's package.json. */
export function manifest(): { version: string; files: string[]; scripts: Record<string, string>; devDependencies: Record<string, string> } {
  return JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
}
