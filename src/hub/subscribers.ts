/**
 * Noticing when anyone starts or stops listening on some diagnostics_channel channels, so
 * that "is anyone listening?" is one boolean the hub reads per op instead of a getter per
 * channel (eleven per op start). The channels' own `subscribe`, `unsubscribe`, `bindStore`
 * and `unbindStore` are shadowed on the channel objects (Node keeps one live object per
 * name; the hub holds them) and each call tells the watcher. Limit: a subscription made
 * around those four methods is missed: channels.ts checks the watch once and, if it does not
 * see a subscription, falls back to asking the getters (slower, never wrong).
 */

const METHODS = ['subscribe', 'unsubscribe', 'bindStore', 'unbindStore'] as const;

/**
 * After any of the four methods runs on one of `channels`, call `changed()`. Returns false if
 * a channel could not be watched (frozen, or its methods are not where Node 20–26 keep them).
 */
export function watchSubscribers(channels: readonly object[], changed: () => void): boolean {
  for (const ch of channels) {
    for (const name of METHODS) {
      if (Object.prototype.hasOwnProperty.call(ch, name)) return false;
      if (typeof (ch as Record<string, unknown>)[name] !== 'function') return false;
    }
  }
  try {
    for (const ch of channels) for (const name of METHODS) shadow(ch, name, changed);
  } catch {
    return false;
  }
  return true;
}

function shadow(ch: object, name: string, changed: () => void): void {
  // Node's inactive channel subscribes by switching its prototype to the active one and
  // calling `this.subscribe` again: that inner call must reach the prototype's method.
  let inside = false;
  Object.defineProperty(ch, name, {
    configurable: true,
    enumerable: false,
    writable: true,
    value: function (this: object, ...args: unknown[]): unknown {
      const method = (Object.getPrototypeOf(this) as Record<string, (...a: unknown[]) => unknown>)[name]!;
      if (inside) return Reflect.apply(method, this, args);
      inside = true;
      try {
        return Reflect.apply(method, this, args);
      } finally {
        inside = false;
        changed();
      }
    },
  });
}
