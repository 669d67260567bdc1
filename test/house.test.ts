/**
 * The floor plan (docs/internals.md "Layers"): reads the import graph of src/ and
 * patches/ with the TypeScript compiler and fails on a cycle across files or an arrow
 * against the layers. Type-only imports count for cycles; only the instrument's type
 * references to the greenlets it describes may point up. Limit: relative imports only.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = resolve(import.meta.dirname, '..');

interface Arrow {
  from: string;
  to: string;
  typeOnly: boolean;
}

/** Every relative import (static, dynamic, re-export) of the .ts files under `dirs`. */
function readGraph(dirs: string[]): { files: string[]; arrows: Arrow[] } {
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.ts')) files.push(relative(root, p));
    }
  };
  for (const d of dirs) walk(join(root, d));
  const typeOnly = (file: string, text: string): Set<string> => {
    // Specifiers whose every import is `import type` / `export type` (erased at run time).
    const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, false);
    const only = new Map<string, boolean>();
    for (const s of sf.statements) {
      if ((ts.isImportDeclaration(s) || ts.isExportDeclaration(s)) && s.moduleSpecifier && ts.isStringLiteral(s.moduleSpecifier)) {
        let erased = ts.isImportDeclaration(s) ? s.importClause?.isTypeOnly === true : s.isTypeOnly;
        if (!erased && ts.isImportDeclaration(s)) {
          const c = s.importClause;
          const named = c?.namedBindings;
          erased = c !== undefined && c.name === undefined && named !== undefined && ts.isNamedImports(named) && named.elements.length > 0 && named.elements.every((el) => el.isTypeOnly);
        }
        const spec = s.moduleSpecifier.text;
        only.set(spec, (only.get(spec) ?? true) && erased);
      }
    }
    return new Set([...only].filter(([, erased]) => erased).map(([spec]) => spec));
  };
  const arrows: Arrow[] = [];
  for (const f of files) {
    const text = readFileSync(join(root, f), 'utf8');
    const erased = typeOnly(f, text);
    for (const ref of ts.preProcessFile(text, true, true).importedFiles) {
      if (!ref.fileName.startsWith('.')) continue;
      const to = relative(root, resolve(root, dirname(f), ref.fileName.replace(/\.js$/, '.ts')));
      arrows.push({ from: f, to, typeOnly: erased.has(ref.fileName) });
    }
  }
  return { files, arrows };
}

/** Cycles across files (strongly connected components of more than one file, or a self-import). */
function cycles(arrows: Arrow[]): string[][] {
  const next = new Map<string, string[]>();
  for (const a of arrows) next.set(a.from, [...(next.get(a.from) ?? []), a.to]);
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    onStack.add(v);
    for (const w of next.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, index.get(w)!));
      }
    }
    if (low.get(v) === index.get(v)) {
      const scc: string[] = [];
      let w: string;
      do {
        w = stack.pop()!;
        onStack.delete(w);
        scc.push(w);
      } while (w !== v);
      if (scc.length > 1 || (next.get(v) ?? []).includes(v)) out.push(scc.sort());
    }
  };
  for (const v of next.keys()) if (!index.has(v)) visit(v);
  return out;
}

// The layers, top to bottom (DESIGN.md "Layers"): what each room may import.
const ENTRY = new Set(['src/index.ts', 'src/monkey.ts', 'src/patch.ts', 'src/cli.ts']);
type Room = 'entry' | 'toolbox' | 'instrument' | 'patches' | 'hub' | 'errors' | 'internal';
function roomOf(file: string): Room {
  if (file.startsWith('patches/')) return 'patches';
  if (ENTRY.has(file) || file.startsWith('src/bullmq/')) return 'entry';
  if (file.startsWith('src/hub/')) return 'hub';
  if (file.startsWith('src/internal/')) return 'internal';
  if (file.startsWith('src/instrument/')) return 'instrument';
  if (file === 'src/errors.ts') return 'errors';
  return 'toolbox'; // greenlet, timeout, queue, lock, server... src/pool/, src/workers/
}
const MAY_IMPORT: Record<Room, readonly Room[]> = {
  entry: ['entry', 'toolbox', 'instrument', 'patches', 'hub', 'errors', 'internal'],
  toolbox: ['toolbox', 'instrument', 'hub', 'errors', 'internal'],
  instrument: ['instrument', 'hub', 'errors', 'internal'],
  patches: ['patches', 'hub', 'errors', 'internal'],
  hub: ['hub', 'errors', 'internal'],
  errors: ['internal'],
  internal: ['internal'],
};

/** Arrows against the layers, as `from -> to (why)`. */
function wrongArrows(arrows: Arrow[]): string[] {
  const out: string[] = [];
  for (const a of arrows) {
    const from = roomOf(a.from);
    const to = roomOf(a.to);
    // The instrument describes greenlets: it may name their type, never load the toolbox.
    const allowed = MAY_IMPORT[from].includes(to) || (from === 'instrument' && to === 'toolbox' && a.typeOnly);
    if (!allowed) out.push(`${a.from} -> ${a.to} (${from} may not import ${to})`);
    else if (to === 'hub' && from !== 'hub' && a.to !== 'src/hub/index.ts') out.push(`${a.from} -> ${a.to} (the hub's one door is src/hub/index.ts)`);
  }
  return out;
}

describe('the house: import graph of src/ and patches/', () => {
  const { files, arrows } = readGraph(['src', 'patches']);

  it('reads the real tree, every relative import resolving to a file', () => {
    expect(files).toContain('src/hub/index.ts');
    expect(arrows.length).toBeGreaterThan(files.length);
    const known = new Set(files);
    expect(arrows.filter((a) => !known.has(a.to)).map((a) => `${a.from} -> ${a.to}`)).toEqual([]);
  });

  it('has no cycle across files (type-only imports included)', () => {
    expect(cycles(arrows)).toEqual([]);
  });

  it('has arrows only downward: entry > toolbox > instrument, patches > hub > errors > internal', () => {
    expect(wrongArrows(arrows)).toEqual([]);
  });

  it('the checks catch a cycle, an upward arrow and a side door (on a made-up graph)', () => {
    const made: Arrow[] = [
      { from: 'src/hub/ops.ts', to: 'src/hub/kinds.ts', typeOnly: false },
      { from: 'src/hub/kinds.ts', to: 'src/hub/ops.ts', typeOnly: true },
      { from: 'src/internal/clock.ts', to: 'src/hub/index.ts', typeOnly: false },
      { from: 'patches/fs.ts', to: 'src/greenlet.ts', typeOnly: false },
      { from: 'src/queue.ts', to: 'src/hub/ops.ts', typeOnly: false },
      { from: 'src/instrument/stats.ts', to: 'src/greenlet.ts', typeOnly: true },
      { from: 'src/instrument/top.ts', to: 'src/greenlet.ts', typeOnly: false },
    ];
    expect(cycles(made)).toEqual([['src/hub/kinds.ts', 'src/hub/ops.ts']]);
    expect(wrongArrows(made)).toEqual([
      'src/internal/clock.ts -> src/hub/index.ts (internal may not import hub)',
      'patches/fs.ts -> src/greenlet.ts (patches may not import toolbox)',
      "src/queue.ts -> src/hub/ops.ts (the hub's one door is src/hub/index.ts)",
      'src/instrument/top.ts -> src/greenlet.ts (instrument may not import toolbox)',
    ]);
  });
});

describe("the hub's doors", () => {
  const { files } = readGraph(['src', 'patches']);
  const text = (f: string): string => readFileSync(join(root, f), 'utf8');

  it('nothing outside src/hub/ touches the AsyncLocalStorage naming the flow (runIn, outside, enterFlow, storedFlow instead); the door does not export it', () => {
    const raw = /\bhub\.als\b|import\s*\{[^}]*\bals\b[^}]*\}\s*from\s*'[^']*hub\/index\.js'|new AsyncLocalStorage\b/;
    const users = files.filter((f) => !f.startsWith('src/hub/') && raw.test(text(f)));
    expect(users).toEqual([]);
    expect(text('src/hub/index.ts')).not.toMatch(/\bals\b/);
    // The hub makes the one storage, in flows.ts.
    expect(files.filter((f) => f.startsWith('src/hub/') && /new AsyncLocalStorage\b/.test(text(f)))).toEqual(['src/hub/flows.ts']);
  });

  it('the hub is configured once, explicitly, by greenlet.ts (no install hooks, no side-effect import of greenlet.ts or timeout.ts)', () => {
    const calls = files.filter((f) => /\bhub\.configure\(/.test(text(f)));
    expect(calls).toEqual(['src/greenlet.ts']);
    const sideEffect = /^import\s+'[^']*\/(greenlet|timeout)\.js';/m;
    expect(files.filter((f) => sideEffect.test(text(f)))).toEqual([]);
  });

  it('has side-effect-only imports in entry points alone (greenio/patch, the instrument surface arming attach)', () => {
    const sideEffect = /^import\s+'\.[^']*';/m;
    const allowed = ['src/instrument/index.ts', 'src/patch.ts'];
    expect(files.filter((f) => sideEffect.test(text(f)) && !allowed.includes(f))).toEqual([]);
  });

  it('keeps every file of src/ and patches/ under 450 lines', () => {
    const lines = (f: string): number => text(f).split('\n').length;
    const big = files.filter((f) => lines(f) > 450);
    expect(big.map((f) => `${f}: ${lines(f)} lines`)).toEqual([]);
  });
});
