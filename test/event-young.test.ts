// Waits on an Event with no WaitTarget yet name the Event itself for their first turn and
// get the target at the next immediate (src/event.ts): the waits are listed as resources
// before and after, a long turn of parked waits (past the compaction threshold) all wake,
// and an Event that gained its target keeps working through clear() and a second wait.
import { describe, expect, it } from 'vitest';
import { Event, joinAll, sleep, snapshot, spawn } from '../src/index.js';

const eventsWaitedOn = (): number => snapshot().resources.filter((r) => r.type === 'Event' && r.waiters.length > 0).length;

describe('Event waits named weakly after their first turn', () => {
  it('1,100 greenlets parked on their own Events in one turn are listed before and after the next immediate, and all wake', async () => {
    const events = Array.from({ length: 1100 }, () => new Event());
    const gs = events.map((ev) => spawn(() => ev.wait()));
    await sleep(0); // every greenlet has run up to its wait
    expect(eventsWaitedOn()).toBe(1100);
    await sleep(20); // past the immediate that gives each its WaitTarget
    expect(eventsWaitedOn()).toBe(1100);
    for (const ev of events) ev.set();
    const done = await joinAll(gs, { raiseError: true });
    expect(done).toHaveLength(1100);
    expect(gs.every((g) => g.value === true)).toBe(true);
    expect(eventsWaitedOn()).toBe(0);
  }, 60_000); // three snapshots of 1,100 greenlets on a busy machine

  it('an Event that gained its target is waited on again after clear(), and times out as before', async () => {
    const ev = new Event({ name: 'again' });
    const first = spawn(() => ev.wait());
    await sleep(20);
    ev.set();
    expect(await first.get()).toBe(true);
    ev.clear();
    expect(await ev.wait(30)).toBe(false);
    const second = spawn(() => ev.wait());
    await sleep(0);
    ev.set();
    expect(await second.get()).toBe(true);
  });
});
