/**
 * The package a user installs: what `npm pack` puts in the tarball (built dist, bin,
 * README, LICENSE; no sources, tests, benchmarks or examples), no lifecycle script an
 * installer must approve, and the `greenio` bin working from a tarball installed by npm.
 */
import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers.js';
import { manifest, ok, packInto, packList, registryHint, root, run } from './pack.js';

const SHIPPED = /^(package\.json|README\.md|LICENSE|bin\/greenio\.js|dist\/(src|patches)\/.+\.(js|d\.ts)(\.map)?)$/;

describe('npm pack --dry-run', () => {
  const files = packList();

  it('ships package.json, README, LICENSE, the bin and the built dist, and nothing else', () => {
    for (const f of ['package.json', 'README.md', 'LICENSE', 'bin/greenio.js', 'dist/src/index.js', 'dist/src/index.d.ts', 'dist/src/cli.js']) {
      expect(files).toContain(f);
    }
    expect(files.filter((f) => !SHIPPED.test(f))).toEqual([]);
    expect(files.filter((f) => /^(test|bench|examples|scripts|src|patches|docs|\.ci)\//.test(f))).toEqual([]);
    expect(files.filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))).toEqual([]);
  });

  it('ships every file that package.json exports and bin point at', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      exports: Record<string, string | Record<string, string>>;
      bin: Record<string, string>;
    };
    const targets = Object.values(pkg.exports).flatMap((t) => (typeof t === 'string' ? [t] : Object.values(t)));
    targets.push(...Object.values(pkg.bin));
    expect(targets.length).toBeGreaterThan(8);
    for (const t of targets) expect(files).toContain(t.replace(/^\.\//, ''));
  });

  it('has an MIT LICENSE for the greenio contributors', () => {
    const text = readFileSync(join(root, 'LICENSE'), 'utf8');
    expect(text).toMatch(/^MIT License/);
    expect(text).toContain('Copyright (c) 2026 greenio contributors');
    expect(JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).license).toBe('MIT');
  });

  it('needs no install-time script: dist is built afresh when packing (prepack), not by prepare', () => {
    const { scripts } = manifest();
    for (const s of ['preinstall', 'install', 'postinstall', 'prepare']) expect(scripts[s], s).toBeUndefined();
    expect(scripts.prepack).toBe('npm run build');
    // A clean build: files of modules since removed never reach the tarball.
    expect(scripts.build).toMatch(/rmSync\('dist'.*&& tsc -p tsconfig\.build\.json$/);
  });
});

describe('the tarball installed by npm', () => {
  const tmp = tempDir('greenio-pkg-');
  let project = '';
  let install = { status: 0 as number | null, stdout: '', stderr: '' };

  beforeAll(async () => {
    const tgz = await packInto(tmp.dir);
    project = join(tmp.dir, 'app');
    ok(await run('mkdir', ['-p', project], tmp.dir), 'mkdir');
    writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }));
    // Warnings on: npm 11 names any lifecycle script that would need approval.
    install = await run('npm', ['install', tgz, '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=warn'], project, { npm_config_update_notifier: 'false' });
    if (install.status !== 0) throw new Error(`npm install of the tarball failed. ${registryHint(install)}\n${install.stderr.slice(-3000)}`);
  }, 120_000);
  afterAll(() => tmp.cleanup());

  it('installs without asking to approve a greenio script', () => {
    expect(`${install.stdout}${install.stderr}`).not.toMatch(/greenio@[^\n]*\((prepare|install|postinstall|preinstall)/);
    const pkg = JSON.parse(readFileSync(join(project, 'node_modules/greenio/package.json'), 'utf8'));
    expect(pkg.version).toBe(manifest().version);
  });

  it('node_modules/.bin/greenio --help lists the commands', async () => {
    const r = await run(join(project, 'node_modules/.bin/greenio'), ['--help'], project);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/greenio run \[options\] script/);
    expect(r.stdout).toMatch(/greenio report TRACE\.json/);
  });

  it('greenio run runs a script that imports greenio, with its IO patched', async () => {
    writeFileSync(
      join(project, 'hello.mjs'),
      [
        "import { spawn, joinAll, sleep } from 'greenio';",
        "import { readFile } from 'node:fs/promises';",
        'const gs = [1, 2, 3].map((n) => spawn(async () => { await sleep(5 * n); await readFile(new URL(import.meta.url)); return n * 10; }));',
        'await joinAll(gs);',
        'console.log(JSON.stringify({ values: gs.map((g) => g.value) }));',
      ].join('\n'),
    );
    const r = await run(join(project, 'node_modules/.bin/greenio'), ['run', 'hello.mjs'], project);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout.trim().split('\n').pop()!)).toEqual({ values: [10, 20, 30] });
  });

  it('imports the package entry points from the installed package', async () => {
    const code = [
      "const g = await import('greenio'); const m = await import('greenio/monkey');",
      "console.log(typeof g.spawn, typeof g.Pool, typeof m.patchAll, import.meta.resolve('greenio/bullmq').endsWith('/node_modules/greenio/dist/src/bullmq/index.js'));",
    ].join('\n');
    const r = await run(process.execPath, ['--input-type=module', '-e', code], project);
    ok(r, 'importing greenio');
    expect(r.stdout.trim()).toBe('function function function true');
  });
});
