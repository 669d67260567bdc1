/**
 * The child_process patch: every child (spawn, exec, execFile, fork all go through
 * `ChildProcess.prototype.spawn`) belongs to the flow that started it; a kill sends it
 * SIGTERM, then SIGKILL if it is still alive 2 s later. `exec`/`execFile` callbacks get
 * the interrupt's error once and never the late result. The `*Sync` forms are measured
 * for blocking detection. Limit: a child's own children are not followed.
 */
import * as hub from '../src/hub/index.js';
import { originalSetTimeout } from '../src/internal/originals.js';
import { callbackWrapper, trackHandle, type HandleSpec } from './conventions.js';
import { definePatch, patchAllFns, patchFn } from './patch.js';
import { syncWrapper } from './sync.js';
import type { AnyFunction } from '../src/internal/wrap.js';

const NAME = 'childProcess';
const K_CHILD = hub.kind('child_process', { resource: true });
const K_EXEC_FILE = hub.kind('child_process.execFile');

type Child = import('node:child_process').ChildProcess;

const CHILD: HandleSpec = {
  kind: K_CHILD,
  abort(handle) {
    const child = handle as Child;
    if (child.exitCode !== null || child.signalCode !== null) return false;
    child.kill('SIGTERM');
    const t = originalSetTimeout(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }, 2000);
    t.unref();
    return false;
  },
  endEvent: 'exit',
};

function spawnWrapper(original: AnyFunction): AnyFunction {
  return ({ wrapper(this: Child) {
    const r = Reflect.apply(original, this, arguments) as unknown;
    // A failed spawn (ENOENT) emits 'error' and never 'exit': nothing to track then.
    if (this.pid !== undefined) trackHandle(this, `${this.spawnfile} ${(this.spawnargs ?? []).slice(1).join(' ')}`.trim(), CHILD);
    return r;
  } }).wrapper;
}

export const childProcessPatch = definePatch({
  name: NAME, option: 'childProcess', module: 'child_process', aliases: ['child_process'],
  implements: {
    handle: ['ChildProcess.prototype.spawn', 'spawn', 'fork'],
    // exec() calls the module's execFile(): wrapping execFile covers both.
    callback: ['execFile'],
    sync: ['execSync', 'execFileSync', 'spawnSync'],
  },
  patch(exports) {
    const cp = exports as typeof import('node:child_process');
    patchFn(NAME, 'child_process', 'ChildProcess.prototype.spawn', cp.ChildProcess.prototype, 'spawn', spawnWrapper);
    patchFn(NAME, 'child_process', 'execFile', cp, 'execFile', callbackWrapper({ kind: K_EXEC_FILE }));
    patchAllFns(NAME, 'child_process', '', cp, ['execSync', 'execFileSync', 'spawnSync'], (n) => syncWrapper(`child_process.${n}`));
  },
});
