/**
 * Saying where a kill or a timeout could not reach: the `file:line:column` where the
 * function given to `withTimeout`/`spawn` is defined (read through an in-process
 * inspector session, only when a flow is abandoned: nothing is paid per call), and the
 * one stderr line per call site. Limit: the await itself cannot be located (a suspended
 * async function has no readable stack), so the site is that of the function holding it.
 */
import { config } from './config.js';
import { isWrapped } from './wrap.js';

type InspectorSession = {
  connect(): void;
  on(event: string, fn: (m: { params: { scriptId: string; url: string } }) => void): void;
  post(method: string, params: object, cb: (err: Error | null, res: unknown) => void): void;
};

let session: InspectorSession | null | undefined;
const urls = new Map<string, string>();
const siteOf = new WeakMap<object, string>();
const warned = new Set<string>();

function connect(): InspectorSession | null {
  if (session !== undefined) return session;
  try {
    // Loaded lazily: most programs never abandon anything. An in-process session
    // answers synchronously and holds no handle, so it never keeps the process alive.
    // (process.getBuiltinModule: Node >= 20.16, so synchronous from ESM too.)
    const inspector = (process as unknown as { getBuiltinModule(id: string): unknown }).getBuiltinModule('node:inspector') as
      | { Session: new () => InspectorSession }
      | undefined;
    if (inspector === undefined) return (session = null);
    const s = new inspector.Session();
    s.connect();
    s.on('Debugger.scriptParsed', (m) => urls.set(m.params.scriptId, m.params.url));
    session = s;
  } catch {
    session = null;
  }
  return session;
}

// A wrapper greenio made around a user's function (a GreenWorker's job body) reports the
// user's function's site, not greenio's.
const standsFor = new WeakMap<object, object>();

/** Report `real`'s site wherever `wrapper`'s is asked (`functionSite`). */
export function definedAs(wrapper: object, real: object): void {
  standsFor.set(wrapper, real);
}

/** `file:line:column` where `fn` is defined, or `''` when it cannot be read. */
export function functionSite(f: unknown): string {
  if (typeof f !== 'function') return '';
  const fn: object = standsFor.get(f) ?? f;
  const known = siteOf.get(fn);
  if (known !== undefined) return known;
  let site = '';
  const s = connect();
  if (s !== null) {
    const g = globalThis as { __greenioSiteOf?: unknown };
    g.__greenioSiteOf = fn;
    try {
      let loc: { scriptId: string; lineNumber: number; columnNumber: number } | undefined;
      s.post('Runtime.evaluate', { expression: 'globalThis.__greenioSiteOf' }, (e, r) => {
        const id = (r as { result?: { objectId?: string } } | undefined)?.result?.objectId;
        if (e !== null || id === undefined) return;
        s.post('Runtime.getProperties', { objectId: id, ownProperties: true }, (e2, r2) => {
          const props = (r2 as { internalProperties?: Array<{ name: string; value?: { value?: unknown } }> } | undefined)?.internalProperties;
          loc = props?.find((p) => p.name === '[[FunctionLocation]]')?.value?.value as typeof loc;
        });
        s.post('Runtime.releaseObject', { objectId: id }, () => {});
      });
      if (loc !== undefined) {
        if (!urls.has(loc.scriptId)) {
          // Enabling the debugger replays every script's url once; disabled at once.
          s.post('Debugger.enable', {}, () => {});
          s.post('Debugger.disable', {}, () => {});
        }
        const url = urls.get(loc.scriptId);
        if (url) site = sourceSite(url, loc.lineNumber, loc.columnNumber);
      }
    } catch {
      site = '';
    } finally {
      delete g.__greenioSiteOf;
    }
  }
  siteOf.set(fn, site);
  return site;
}

// The position in the source the user wrote, when the code was transpiled with a source
// map Node knows (tsx, `--enable-source-maps`); otherwise the position in the script run.
function sourceSite(url: string, line: number, column: number): string {
  let file = url;
  try {
    const mod = (process as unknown as { getBuiltinModule(id: string): unknown }).getBuiltinModule('node:module') as {
      findSourceMap?(path: string): { findEntry(l: number, c: number): { originalSource?: string; originalLine?: number; originalColumn?: number } } | undefined;
    };
    const e = mod.findSourceMap?.(url)?.findEntry(line, column);
    if (e !== undefined && typeof e.originalSource === 'string' && typeof e.originalLine === 'number') {
      file = e.originalSource;
      line = e.originalLine;
      column = e.originalColumn ?? column;
    }
  } catch {
    // No source map: the script's own position.
  }
  if (file.startsWith('file://')) file = decodeURIComponent(new URL(file).pathname);
  return `${file}:${line + 1}:${column + 1}`;
}

/** What would make an invisible await reachable, for the warning. */
export function reachHint(): string {
  return isWrapped(globalThis, 'setTimeout')
    ? // A promise around setTimeout is the usual case: the kill or timeout cleared that timer.
      'await a greenio wait instead (for a delay, greenio\'s sleep(ms) or timers/promises rather than a promise around setTimeout, whose timer an interrupt clears; otherwise an AsyncResult or Event its callback sets, or a promiseWrapper from greenio/monkey) or use a client integration'
    : 'load the patch (node --import greenio/patch, or patchAll()) or use a client integration';
}

/**
 * Print `text` on stderr once per `site` (unless `config.warnUnreachable` is off).
 * Returns true if printed.
 */
export function warnOnce(site: string, text: string): boolean {
  if (!config.warnUnreachable || warned.has(site)) return false;
  warned.add(site);
  process.stderr.write(`greenio: ${text}\n`);
  return true;
}
