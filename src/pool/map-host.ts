/**
 * What the map engine (feed.ts, imap.ts) needs from the group it runs on: slots and
 * membership (`MapHost`, which `Group` and `Pool` provide), and what waits in a Pool's
 * slot line besides a greenlet (`SlotClient`, a map). Types only: the protocol, not its
 * implementations (pool.ts, slots.ts).
 */
import type { Greenlet } from '../greenlet.js';
import type { Worker } from './worker.js';

/** What a map needs from its group: slots and membership. @internal */
export interface MapHost {
  /** How many tasks an imap keeps outstanding: the pool's capacity (Infinity for a Group). */
  readonly _window: number;
  /** Take a slot for `f` now (true), or queue `f` for one: `f._slotGranted()` comes later. */
  _requestSlot(f: SlotClient): boolean;
  /** Leave the slot queue. */
  _cancelSlot(f: SlotClient): void;
  /** Give back a slot taken or granted and not used. */
  _releaseSlot(): void;
  /** Make `g`, spawned with a slot taken for it, a member watched by `w`. */
  _addTask(g: Greenlet, w: Worker): void;
  /**
   * True if a worker of map `f` may park for its next item, holding its slot (no one else
   * waits for one); `f` is then dismissed if someone comes to wait. `f` is a feed, seen as
   * slots.ts's `ParkedMap` written out (slots.ts imports `SlotClient` from here).
   */
  _park(f: SlotClient & { dismiss(): void; listed: boolean }): boolean;
  /** A member died: forget it and free its slot. */
  _discard(g: Greenlet): boolean;
}

/** Something queued for a pool slot besides a waiting greenlet. @internal */
export interface SlotClient {
  _slotGranted(): void;
}
