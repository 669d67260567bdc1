import { describe, expect, it } from 'vitest';
import { registerPatch } from '../../src/monkey.js';
import { runFixture } from '../run-fixture.js';

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
