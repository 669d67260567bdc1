// The hub skips publishing an op's start and end while nobody listens, knowing so from
// watched subscriptions (src/hub/subscribers.ts): whichever way a listener arrives or
// leaves, the next op must be published to it, and none after it left.
import { AsyncLocalStorage } from 'node:async_hooks';
import diagnostics from 'node:diagnostics_channel';
import { describe, expect, it } from 'vitest';
import { spawn } from '../../src/greenlet.js';
import { sleep } from '../../src/sleep.js';

type Route = { name: string; on(seen: string[]): () => void };

const tc = (name: string) => diagnostics.tracingChannel(name);
const routes: Route[] = [
  {
    name: 'diagnostics_channel.subscribe on greenio:io:start',
    on(seen) {
      const f = (m: unknown) => seen.push((m as { kind: string }).kind);
      diagnostics.subscribe('greenio:io:start', f);
      return () => diagnostics.unsubscribe('greenio:io:start', f);
    },
  },
  {
    name: 'Channel#subscribe on greenio:io:end',
    on(seen) {
      const f = (m: unknown) => seen.push((m as { kind: string }).kind);
      diagnostics.channel('greenio:io:end').subscribe(f);
      return () => diagnostics.channel('greenio:io:end').unsubscribe(f);
    },
  },
  {
    name: 'TracingChannel#subscribe (asyncEnd only) on greenio.wait',
    on(seen) {
      const h = { asyncEnd: (c: unknown) => seen.push((c as { kind: string }).kind) };
      tc('greenio.wait').subscribe(h as never);
      return () => tc('greenio.wait').unsubscribe(h as never);
    },
  },
  {
    name: 'a tracing event channel subscribed alone (greenio.wait error)',
    on(seen) {
      const f = (c: unknown) => seen.push((c as { kind: string }).kind);
      diagnostics.channel('tracing:greenio.wait:error').subscribe(f);
      return () => diagnostics.channel('tracing:greenio.wait:error').unsubscribe(f);
    },
  },
  {
    name: 'a store bound to tracing:greenio.wait:start with a subscriber',
    on(seen) {
      const als = new AsyncLocalStorage<string>();
      const start = diagnostics.channel('tracing:greenio.wait:start');
      start.bindStore(als, () => 'bound');
      const f = (c: unknown) => seen.push((c as { kind: string }).kind);
      start.subscribe(f);
      // The subscriber leaves first: with the store still bound the ops are published
      // (unseen); unbinding the store must then turn publication off.
      return () => {
        start.unsubscribe(f);
        start.unbindStore(als);
      };
    },
  },
];

describe('op publication follows subscriptions as they come and go', () => {
  for (const r of routes) {
    it(`${r.name}: published while subscribed, not before or after`, async () => {
      const seen: string[] = [];
      await spawn(() => sleep(0)).get();
      const off = r.on(seen);
      // A sleep that ends, and one ended by a kill (an op that fails: what `error` sees).
      await spawn(() => sleep(0)).get();
      const g = spawn(() => sleep(60_000));
      await sleep(0);
      await g.kill();
      off();
      const during = seen.length;
      expect(seen).toContain('sleep');
      await spawn(() => sleep(0)).get();
      const k = spawn(() => sleep(60_000));
      await sleep(0);
      await k.kill();
      expect(seen.length).toBe(during);
      expect(during).toBeGreaterThan(0);
    });
  }
});

describe('the subscription watch', () => {
  it('is trusted on this Node (if not, every op asks eleven channel getters again)', async () => {
    const { watchTrusted } = await import('../../src/hub/op-channels.js');
    expect(watchTrusted).toBe(true);
  });

  it('leaves the channels working as Node documents (subscribe returns, unsubscribe says whether it removed)', () => {
    const ch = diagnostics.channel('greenio:io:start');
    const f = () => {};
    expect(ch.hasSubscribers).toBe(false);
    ch.subscribe(f);
    expect(ch.hasSubscribers).toBe(true);
    expect(ch.unsubscribe(f)).toBe(true);
    expect(ch.unsubscribe(f)).toBe(false);
    expect(ch.hasSubscribers).toBe(false);
  });
});
