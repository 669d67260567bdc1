/**
 * The `diagnostics_channel` channels greenio publishes on, with typed messages, for
 * users' own tooling (APMs, loggers, tests). greenio publishes only when a channel has
 * subscribers, so a program that never subscribes pays one boolean check per event.
 * Limits: messages are the live objects (the greenlet, the op), valid while the
 * subscriber runs; a subscriber that throws breaks the code that published (Node's rule).
 */
import diagnostics from 'node:diagnostics_channel';
import type { Greenlet } from '../greenlet.js';
import { plainChannels } from '../hub/index.js';
import { checkFunction, expected } from '../internal/validate.js';

/** A wait or tracked operation, as the `greenio:io:*` messages carry it. */
export interface OpInfo {
  /** The kind of wait (`'fs.readFile'`, `'net read'`, `'queue.get'`, `'sleep'`). */
  readonly kind: { readonly name: string };
  /** What is waited on: a path, an address, a queue, a duration in ms. */
  readonly detail: unknown;
  /** `performance.now()` when it began. */
  readonly since: number;
  /** True for a promise wait (the greenlet is blocked on it); false for callback IO or a handle. */
  readonly isWait: boolean;
  /** True once it completed, failed or was cancelled. */
  readonly settled: boolean;
}

/** `greenio:greenlet:spawn` and `greenio:greenlet:start`. */
export interface GreenletMessage {
  greenlet: Greenlet;
}

/** `greenio:greenlet:end`: `ok` is false when it died of an error (`value` is then the error). */
export interface GreenletEndMessage {
  greenlet: Greenlet;
  ok: boolean;
  value: unknown;
}

/** `greenio:io:start`: a greenlet (or the main greenlet) began a wait or an operation. */
export interface IoStartMessage {
  greenlet: Greenlet;
  op: OpInfo;
  kind: string;
  detail: unknown;
}

/** `greenio:io:end`: it completed, failed, timed out or was cancelled, after `durationMs`. */
export interface IoEndMessage extends IoStartMessage {
  durationMs: number;
  /**
   * How it ended: `'ok'`, `'error'`, `'killed'` (aborted by a kill, or released when its
   * greenlet died), `'timeout'` (a Timeout's or its own), or `'abandoned'`: released
   * because its flow was abandoned, or the await a kill or timeout could not reach
   * (kinds `withTimeout abandoned` and `kill abandoned`).
   */
  outcome: 'ok' | 'error' | 'killed' | 'timeout' | 'abandoned';
  /** What it failed with, when it did not end `'ok'`: the rejection, or the kill's or the Timeout's error (may be undefined). */
  error?: unknown;
  /** For a client operation an interrupt could not stop on the server: what was left (e.g. a transaction half done). */
  note?: string;
}

/** `greenio:block` from a `*Sync` call inside a greenlet (published by the sync patch). */
export interface SyncBlockMessage {
  type: 'sync';
  /** The function, e.g. `'fs.readFileSync'`. */
  call: string;
  greenlet: Greenlet;
  durationMs: number;
  /** The caller's frame: `fn (file:line:column)`. */
  site: string;
  stack: string;
}

/**
 * `greenio:block` from the blocking monitor: the event loop stalled for `durationMs`
 * while `greenlet` ran the code at `site`. `greenlet` is null, and `site` empty, when
 * the stall ended before the monitor could look (see `startMonitor`).
 */
export interface StallBlockMessage {
  type: 'stall';
  greenlet: Greenlet | null;
  durationMs: number;
  site: string;
  stack: string;
}

/** Any `greenio:block` message. */
export type BlockMessage = SyncBlockMessage | StallBlockMessage;

/** Every channel name and the message it carries. */
export interface ChannelMessages {
  'greenio:greenlet:spawn': GreenletMessage;
  'greenio:greenlet:start': GreenletMessage;
  'greenio:greenlet:end': GreenletEndMessage;
  'greenio:io:start': IoStartMessage;
  'greenio:io:end': IoEndMessage;
  'greenio:block': BlockMessage;
}

/** A channel's name (`'greenio:io:end'`, ...). */
export type ChannelName = keyof ChannelMessages;

/**
 * The channel objects, by short name (`diagnostics_channel.channel(name)` returns the
 * same objects).
 * @example
 * import { channels } from 'greenio';
 * channels.ioEnd.subscribe((m) => console.log(m));
 */
export const channels = plainChannels;

/** Every channel name, in lifecycle order. */
export const channelNames: readonly ChannelName[] = Object.freeze([
  'greenio:greenlet:spawn',
  'greenio:greenlet:start',
  'greenio:greenlet:end',
  'greenio:io:start',
  'greenio:io:end',
  'greenio:block',
] as const);

/**
 * Subscribe `fn` to the channel `name` with the message typed; returns the function
 * that unsubscribes it.
 * @example
 * import { subscribe } from 'greenio';
 * const off = subscribe('greenio:io:end', (m) => {
 *   if (m.durationMs > 100) console.log(`${m.greenlet.name} waited ${m.durationMs} ms on ${m.kind}`);
 * });
 * off();
 */
export function subscribe<N extends ChannelName>(name: N, fn: (message: ChannelMessages[N]) => void): () => void {
  if (!channelNames.includes(name)) throw new TypeError(expected('name', `one of ${channelNames.join(', ')}`, name));
  checkFunction('fn', fn);
  const listener = fn as (message: unknown, name: string | symbol) => void;
  diagnostics.subscribe(name, listener);
  let on = true;
  return () => {
    if (!on) return;
    on = false;
    diagnostics.unsubscribe(name, listener);
  };
}
