/**
 * The fs patch: the callback API, `fs.promises` (the same object as `node:fs/promises`),
 * `FileHandle` methods (patched on the first `open`), and the `*Sync` functions for
 * detection. A file stream's own IO (`fs.ReadStream`/`fs.WriteStream`, a FileHandle's
 * streams too: opening, each chunk read or written, closing) is the stream's, not the
 * greenlet's that last read or wrote: it runs outside any greenlet, so a kill never
 * aborts a write a greenlet queued (data lost) nor a read a shared stream has in flight
 * (the stream destroyed). A stream is a handle of the flow that made it, as a socket is:
 * a kill destroys the streams its greenlet made (no fd leaked), no other. A greenlet
 * waiting for a stream's data or drain still waits (the streams patch). For the same
 * reason a write to an fd by callback runs to its end (`RUN_TO_END`). A cancelled op's
 * late result is released: an fd or FileHandle that opens after a kill is closed at once. `readFile`/`writeFile` get an AbortSignal so a kill stops a large
 * read between chunks. Limit: a blocked `open()` (a FIFO) keeps its libuv thread.
 */
import * as hub from '../src/hub/index.js';
import type { AnyFunction } from '../src/internal/wrap.js';
import { callbackWrapper, destroyHandle, optionsWithSignal, promiseWrapper, trackHandle, type HandleSpec } from './conventions.js';
import { isWrapped } from '../src/internal/wrap.js';
import { definePatch, patchAllFns, patchFn } from './patch.js';
import { guardModuleLoad, syncWrapper } from './sync.js';
import { ownedByNoGreenlet } from './client-ops.js';

type FsModule = typeof import('node:fs');
const NAME = 'fs';

const CALLBACK = [
  'access', 'appendFile', 'chmod', 'chown', 'close', 'copyFile', 'cp', 'fchmod', 'fchown', 'fdatasync', 'fstat',
  'fsync', 'ftruncate', 'futimes', 'lchown', 'lutimes', 'link', 'lstat', 'mkdir', 'mkdtemp', 'open', 'opendir',
  'read', 'readdir', 'readFile', 'readlink', 'readv', 'realpath', 'rename', 'rm', 'rmdir', 'stat', 'statfs',
  'symlink', 'truncate', 'unlink', 'utimes', 'write', 'writeFile', 'writev',
] as const;
const PROMISES = [
  'access', 'appendFile', 'chmod', 'chown', 'copyFile', 'cp', 'lchown', 'lutimes', 'link', 'lstat', 'mkdir',
  'mkdtemp', 'open', 'opendir', 'readdir', 'readFile', 'readlink', 'realpath', 'rename', 'rm', 'rmdir', 'stat',
  'statfs', 'symlink', 'truncate', 'unlink', 'utimes', 'writeFile',
] as const;
const FILE_HANDLE = [
  'appendFile', 'chmod', 'chown', 'close', 'datasync', 'read', 'readFile', 'readv', 'stat', 'sync', 'truncate',
  'utimes', 'write', 'writeFile', 'writev',
] as const;
const SYNC = [
  'accessSync', 'appendFileSync', 'chmodSync', 'chownSync', 'closeSync', 'copyFileSync', 'cpSync', 'existsSync',
  'fstatSync', 'fsyncSync', 'ftruncateSync', 'linkSync', 'lstatSync', 'mkdirSync', 'mkdtempSync', 'openSync',
  'opendirSync', 'readFileSync', 'readSync', 'readdirSync', 'readlinkSync', 'readvSync', 'realpathSync',
  'renameSync', 'rmSync', 'rmdirSync', 'statSync', 'symlinkSync', 'truncateSync', 'unlinkSync', 'utimesSync',
  'writeFileSync', 'writeSync', 'writevSync',
] as const;

// Cleanup must never be refused or lost: a close runs even in a killed greenlet.
const CLEANUP = new Set(['close']);

const kinds = new Map<string, hub.Kind>();
function kindOf(name: string): hub.Kind {
  let k = kinds.get(name);
  if (k === undefined) kinds.set(name, (k = hub.kind(`fs.${name}`)));
  return k;
}

let fs: FsModule | undefined;
const closeLateFd = (fd: unknown): void => {
  if (typeof fd === 'number') fs!.close(fd, () => {});
};
const closeLateHandle = (h: unknown): void => {
  void (h as { close?: () => Promise<void> }).close?.().catch(() => {});
};

/**
 * Writes to an fd by callback (`fs.write`, `writev`, `fsync`, `fdatasync`) run to their
 * end outside any greenlet: a kill cannot take back bytes the OS is writing, and an fd is
 * often shared (a logger's), so its writer must get the write's real result, never the
 * kill's error (pino's sonic-boom then reported an error and lost the line). No greenlet
 * waits on a callback, so none is made less interruptible; the op is main's.
 */
const RUN_TO_END = new Set(['write', 'writev', 'fsync', 'fdatasync']);

function callbackFor(name: string): (o: AnyFunction) => AnyFunction {
  if (RUN_TO_END.has(name)) {
    const tracked = callbackWrapper({ kind: kindOf(name) });
    return (original) => ownedByNoGreenlet(tracked(original));
  }
  if (CLEANUP.has(name)) return callbackWrapper({ kind: kindOf(name), cleanup: true });
  if (name === 'open') return callbackWrapper({ kind: kindOf(name), onLate: closeLateFd });
  if (name === 'readFile') return callbackWrapper({ kind: kindOf(name), withSignal: (a, s) => optionsWithSignal(a, 1, s) });
  if (name === 'writeFile') return callbackWrapper({ kind: kindOf(name), withSignal: (a, s) => optionsWithSignal(a, 2, s) });
  return callbackWrapper({ kind: kindOf(name) });
}

function promiseFor(name: string): (o: AnyFunction) => AnyFunction {
  if (name === 'open') return promiseWrapper({ kind: kindOf(name), onLate: closeLateHandle, onValue: patchFileHandle });
  if (name === 'readFile') return promiseWrapper({ kind: kindOf(name), withSignal: (a, s) => optionsWithSignal(a, 1, s), bypass: byModuleLoader });
  if (name === 'writeFile') return promiseWrapper({ kind: kindOf(name), withSignal: (a, s) => optionsWithSignal(a, 2, s) });
  return promiseWrapper({ kind: kindOf(name) });
}

function handleMethodFor(name: string): (o: AnyFunction) => AnyFunction {
  const kind = kindOf(`FileHandle.${name}`);
  const detail = (_args: ArrayLike<unknown>, self: unknown): unknown => (self as { fd?: number }).fd;
  if (name === 'close') return promiseWrapper({ kind, detail, cleanup: true });
  if (name === 'readFile') return promiseWrapper({ kind, detail, withSignal: (a, s) => optionsWithSignal(a, 0, s) });
  if (name === 'writeFile') return promiseWrapper({ kind, detail, withSignal: (a, s) => optionsWithSignal(a, 1, s) });
  return promiseWrapper({ kind, detail });
}

/**
 * Node 20's ESM loader reads each module's source with `fs.promises.readFile(url)`:
 * loading the application is not its IO. Only a URL argument pays for the stack look.
 */
function byModuleLoader(args: ArrayLike<unknown>): boolean {
  if (!(args[0] instanceof URL)) return false;
  const holder: { stack?: string } = {};
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 4;
  Error.captureStackTrace(holder, byModuleLoader);
  Error.stackTraceLimit = limit;
  return (holder.stack ?? '').includes('node:internal/modules/esm/');
}

/**
 * `_construct` runs (on the next tick, in its creator's context) before the stream's first
 * IO: there the stream becomes a handle of the flow that made it, as a socket does, so a
 * kill of a greenlet destroys the streams it made (closing their fds: none is leaked by a
 * greenlet killed mid-read), never one made in main or by another greenlet.
 */
function streamConstruct(original: AnyFunction): AnyFunction {
  return ({ _construct(this: { path?: unknown; fd?: unknown }) {
    trackHandle(this, typeof this.path === 'string' ? this.path : this.fd, FILE_STREAM);
    return hub.outside(Reflect.apply, original, this, arguments);
  } })._construct;
}
const FILE_STREAM: HandleSpec = { kind: hub.kind('fs.stream'), abort: destroyHandle };
const STREAM_METHODS = {
  ReadStream: ['_construct', '_read', '_destroy'],
  WriteStream: ['_construct', '_write', '_writev', '_final', '_destroy'],
} as const;

let handleProtoPatched = false;
/** The FileHandle class is not exported: patch its prototype from the first handle seen. */
function patchFileHandle(h: unknown): void {
  // A wrapper of `open` kept by someone after unpatchAll() must not patch again.
  if (handleProtoPatched || fs === undefined || !isWrapped(fs.promises, 'open') || h === null || typeof h !== 'object') return;
  handleProtoPatched = true;
  patchAllFns(NAME, 'fs/promises', 'FileHandle.prototype.', Object.getPrototypeOf(h) as object, FILE_HANDLE, handleMethodFor);
}

export const fsPatch = definePatch({
  name: NAME, option: 'fs', module: 'fs', aliases: ['fs', 'fs/promises'], with: ['streams'],
  implements: {
    callback: CALLBACK,
    promise: [...PROMISES.map((n) => `promises.${n}`), ...FILE_HANDLE.map((n) => `FileHandle.prototype.${n}`)],
    sync: SYNC,
    stream: ['createReadStream', 'createWriteStream', ...Object.entries(STREAM_METHODS).flatMap(([c, ms]) => ms.map((m) => `${c}.prototype.${m}`))],
  },
  patch(exports) {
    fs = exports as FsModule;
    guardModuleLoad(NAME);
    // realpath.native first: the wrapper of realpath then carries the wrapped native.
    patchFn(NAME, 'fs', 'realpath.native', fs.realpath, 'native', callbackFor('realpath'));
    patchAllFns(NAME, 'fs', '', fs, CALLBACK, callbackFor);
    patchAllFns(NAME, 'fs', '', fs, SYNC, (n) => syncWrapper(`fs.${n}`));
    patchAllFns(NAME, 'fs/promises', '', fs.promises, PROMISES, promiseFor);
    for (const [cls, methods] of Object.entries(STREAM_METHODS)) {
      const proto = (fs as unknown as Record<string, { prototype: Record<string, unknown> }>)[cls]!.prototype;
      for (const m of methods) {
        if (typeof proto[m] === 'function') patchFn(NAME, 'fs', `${cls}.prototype.${m}`, proto, m, m === '_construct' ? streamConstruct : ownedByNoGreenlet);
      }
    }
  },
  unpatch() {
    handleProtoPatched = false;
  },
});
