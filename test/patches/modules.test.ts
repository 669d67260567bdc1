import { describe, expect, it } from 'vitest';
import { registerPatch } from '../../src/monkey.js';
import { runFixture } from '../run-fixture.js';
import { esmHookAvailable } from '../../patches/esm-hook.js';

describe('registerPatch: a user’s own patch of a third-party library', () => {
  const r = runFixture('patch-module.ts');
  it('is applied when the library is required after patchAll(), and at once to one already loaded', () => {
    expect(r.status, r.stderr).toBe(0);
    expect(r.json.patched).toEqual({ slow: true, early: true });
    expect(r.json.value).toBe('SELECT 1');
    expect(r.json.earlyValue).toBe('SELECT 2');
  });
  it('makes the library’s IO a greenio op: attributed, and aborted by a kill', () => {
    expect(r.json.kinds).toEqual(['slow-db.query', 'early-db.query', 'slow-db.query']);
    expect(r.json.killed).toBe(true);
  });
  it('is undone by unpatchAll()', () => {
    expect(r.json.restored).toBe(true);
  });
  it('checks its definition', () => {
    expect(() => registerPatch({} as never)).toThrow(TypeError);
    expect(() => registerPatch({ module: 'x' } as never)).toThrow(/def\.patch/);
  });
});

describe('registerPatch on a file inside a pure-ESM package', () => {
  // Node 20 has no in-thread module hooks (patches/esm-hook.ts): there the file is not seen.
  const hookable = esmHookAvailable;
  const r = runFixture('patch-esm-module.ts');

  if (hookable) {
    it('is applied to the module namespace once the file has run: its class wrapped, the call attributed to the greenlet', () => {
      expect(r.status, r.stderr).toBe(0);
      expect(r.json).toMatchObject({ inGreenlet: 'patched ran x', seenBy: ['worker'], wasPatched: true });
    });
    it('a patch that assigns to an export (read-only) is reported as GREENIO_ESM_PATCH and the import still succeeds; unpatchAll() restores', () => {
      expect(r.json).toMatchObject({ helper: 'plain', warnings: ['GREENIO_ESM_PATCH'], afterUnpatch: 'ran y' });
      expect(r.stderr).toContain('could not patch the ES module esm-db/lib/helper.js');
    });
  } else {
    it('is not applied on Node 20, and the import succeeds unpatched', () => {
      expect(r.status, r.stderr).toBe(0);
      expect(r.json).toEqual({ inGreenlet: 'ran x', seenBy: [], wasPatched: false, helper: 'plain', warnings: [], afterUnpatch: 'ran y' });
    });
  }
});
