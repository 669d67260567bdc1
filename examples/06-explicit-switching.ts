// Explicit switching: two greenlets hand control back and forth by name, a greenlet-style switch() built from two Channels, printing A1 B1 A2 B2 A3 B3.
//
// Run: node --import tsx examples/06-explicit-switching.ts
//
// Python's greenlet library lets a coroutine say "run that one now" (`other.switch()`).
// greenio schedules implicitly instead: a greenlet runs until it waits. A Channel (a
// rendezvous: put() waits until someone takes the item) turns that back into an
// explicit hand-off, because exactly one side holds the baton at any moment.
import { Channel, joinAll, spawn } from 'greenio';

class Baton {
  private readonly inbox = new Channel<string>();

  constructor(readonly name: string) {}

  /** Wait until someone hands us control. */
  async receive(): Promise<string> {
    return this.inbox.get();
  }

  /** Hand control to `other` and wait until it is handed back. */
  async switchTo(other: Baton): Promise<string> {
    await other.inbox.put(this.name); // resolves once `other` has taken it
    return this.receive();
  }

  /** Hand control to `other` for good (we are finishing). */
  async handOff(other: Baton): Promise<void> {
    await other.inbox.put(this.name);
  }
}

const ROUNDS = 3;
const order: string[] = [];
let finished = 0;

async function task(me: Baton, other: Baton): Promise<void> {
  const from = await me.receive(); // start only when given control
  console.log(`${me.name} starts (control from ${from})`);
  for (let round = 1; round <= ROUNDS; round++) {
    order.push(`${me.name}${round}`);
    console.log(`${me.name}${round}`);
    if (round < ROUNDS) await me.switchTo(other);
  }
  // The first to finish passes control on one last time; the last one has nobody to
  // hand it to (a put() nobody takes would wait forever).
  finished++;
  if (finished < 2) await me.handOff(other);
}

const a = new Baton('A');
const b = new Baton('B');
const greenlets = [spawn(task, a, b), spawn(task, b, a)];

// Both greenlets now wait in receive(); the main greenlet starts the game by handing
// control to A (and, not being part of the game, never asks for it back).
await new Baton('main').handOff(a);
await joinAll(greenlets, { raiseError: true });
console.log(`order: ${order.join(' ')}`);
