/**
 * The dns patch: `lookup`, `lookupService`, `reverse` and every `resolve*`, callback
 * and promise forms, module functions and `Resolver` methods. Node cannot abort a DNS
 * query: a kill or Timeout settles the wait at once and drops the late answer.
 * Limit: the query itself keeps its libuv thread (getaddrinfo) or c-ares slot until it
 * returns; with `UV_THREADPOOL_SIZE` small, hung lookups can delay other fs/dns work.
 */
import * as hub from '../src/hub/index.js';
import { callbackWrapper, promiseWrapper } from './conventions.js';
import { definePatch, patchAllFns } from './patch.js';

const NAME = 'dns';
const METHODS = [
  'lookup', 'lookupService', 'resolve', 'resolve4', 'resolve6', 'resolveAny', 'resolveCaa', 'resolveCname',
  'resolveMx', 'resolveNaptr', 'resolveNs', 'resolvePtr', 'resolveSoa', 'resolveSrv', 'resolveTxt', 'reverse',
] as const;
const RESOLVER = METHODS.filter((m) => m !== 'lookup' && m !== 'lookupService');

const kinds = new Map<string, hub.Kind>();
function kindOf(name: string): hub.Kind {
  let k = kinds.get(name);
  if (k === undefined) kinds.set(name, (k = hub.kind(`dns.${name}`)));
  return k;
}

export const dnsPatch = definePatch({
  name: NAME, option: 'dns', module: 'dns', aliases: ['dns', 'dns/promises'],
  implements: {
    callback: [...METHODS, ...RESOLVER.map((m) => `Resolver.prototype.${m}`)],
    promise: [...METHODS.map((m) => `promises.${m}`), ...RESOLVER.map((m) => `promises.Resolver.prototype.${m}`)],
  },
  patch(exports) {
    const dns = exports as typeof import('node:dns');
    patchAllFns(NAME, 'dns', '', dns, METHODS, (n) => callbackWrapper({ kind: kindOf(n) }));
    patchAllFns(NAME, 'dns', 'Resolver.prototype.', dns.Resolver.prototype, RESOLVER, (n) => callbackWrapper({ kind: kindOf(n) }));
    patchAllFns(NAME, 'dns/promises', '', dns.promises, METHODS, (n) => promiseWrapper({ kind: kindOf(n) }));
    patchAllFns(NAME, 'dns/promises', 'Resolver.prototype.', dns.promises.Resolver.prototype, RESOLVER, (n) => promiseWrapper({ kind: kindOf(n) }));
  },
});
