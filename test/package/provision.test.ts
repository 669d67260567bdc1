/**
 * scripts/provision.mjs, which `npm test` runs first: on this machine everything the suite
 * drives is there; where a package is missing and cannot be installed (not root and no
 * sudo, or no apt-get) it throws an error naming the command to run, never a silent skip.
 * Limit: the install path itself is tried by hand (apt-get remove, then npm test).
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { root } from './pack.js';

const script = join(root, 'scripts/provision.mjs');

/** provision() in a fresh process with one more (never present) need than the real ones. */
function provisionWithMissing(pkg: string, opts: { uid?: number; path?: string }) {
  const code = `
    const m = await import(${JSON.stringify(pathToFileURL(script).href)});
    m.NEEDS.push({ pkg: ${JSON.stringify(pkg)}, why: 'a test', present: () => false });
    try { m.provision({ log: () => {} }); console.log('no error'); } catch (e) { console.log(e.message); process.exitCode = 3; }`;
  const env = { ...process.env, PATH: opts.path ?? process.env.PATH ?? '' };
  const argv = [process.execPath, '--input-type=module', '-e', code];
  const cmd = opts.uid === undefined ? argv : ['setpriv', `--reuid=${opts.uid}`, `--regid=${opts.uid}`, '--clear-groups', ...argv];
  return spawnSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8', env, cwd: '/' });
}

describe('scripts/provision.mjs', () => {
  it('finds every system package the suite drives on this machine (npm test installed them)', () => {
    const r = spawnSync(process.execPath, [script, '--check'], { encoding: 'utf8' });
    expect(r.stdout.trim()).toBe('all present');
    expect(r.status).toBe(0);
    expect(existsSync('/usr/bin/chromium')).toBe(true);
  });

  it('without root and without sudo, fails naming the apt-get command to run', () => {
    if (process.getuid?.() !== 0) throw new Error('this test drops from root to nobody: run the suite as root, as CI does');
    // With sudo installed, `sudo -n true` fails for nobody all the same (no sudoers entry).
    const p = provisionWithMissing('greenio-test-missing', { uid: 65534 });
    expect(p.stderr).toBe('');
    expect(p.status).toBe(3);
    expect(p.stdout).toMatch(/greenio-test-missing \(a test\)/);
    expect(p.stdout).toMatch(/not root and no passwordless sudo, so run: sudo sh -c 'apt-get update && apt-get install -y --no-install-recommends greenio-test-missing'/);
  });

  it('without apt-get, fails naming the packages and the Debian command', () => {
    const p = provisionWithMissing('greenio-test-missing', { path: '/nonexistent' });
    expect(p.stderr).toBe('');
    expect(p.status).toBe(3);
    // PATH has no /usr/bin either, so the real packages look missing too: all are named.
    expect(p.stdout).toMatch(/has no apt-get: install them with your package manager \(on Debian\/Ubuntu: apt-get update && apt-get install -y --no-install-recommends [a-z -]*greenio-test-missing\)/);
  });
});
