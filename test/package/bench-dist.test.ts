/**
 * The benchmarks measure greenio as users run it: bench/_dist.mjs makes a workload's
 * imports of src/ and patches/ load the tsc build in dist/ (the suite builds it first),
 * leaves every other import alone, and refuses a missing build rather than fall back to
 * the sources.
 */
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runFixture } from '../run-fixture.js';
import { root } from './pack.js';
import { distOf } from '../../bench/_dist-hooks.mjs';

const hook = pathToFileURL(join(root, 'bench/_dist.mjs')).href;
const url = (p: string): string => pathToFileURL(join(root, p)).href;

describe('bench/_dist.mjs', () => {
  it('loads dist/ for src/ and patches/, and tsc\'s output, under the hook', () => {
    const r = runFixture('bench-dist.ts', [], {}, ['--import', hook]);
    expect(r.status, r.stderr).toBe(0);
    expect(r.json).toEqual({
      ops: url('dist/src/hub/ops.js'),
      patches: url('dist/patches/index.js'),
      helpers: url('test/helpers.ts'),
      tscFields: true,
      value: 42,
    });
  });

  it('without it (what BENCH_SRC=1 measures), loads the sources through tsx', () => {
    const r = runFixture('bench-dist.ts');
    expect(r.status, r.stderr).toBe(0);
    expect(r.json).toMatchObject({ ops: url('src/hub/ops.ts'), patches: url('patches/index.ts'), tscFields: false, value: 42 });
  });

  it('maps only src/ and patches/, and throws when the build lacks the file', () => {
    const d = distOf;
    expect(d(url('src/queue.ts'))).toBe(url('dist/src/queue.js'));
    expect(d(url('patches/net.js'))).toBe(url('dist/patches/net.js'));
    expect(d(url('test/helpers.ts'))).toBeNull();
    expect(d(url('bench/lib.ts'))).toBeNull();
    expect(d('node:fs')).toBeNull();
    expect(() => d(url('src/no-such-module.ts'))).toThrow(/dist\/src\/no-such-module\.js is missing: run `npx tsc -p tsconfig\.build\.json` first/);
  });
});
