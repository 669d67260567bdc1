import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { sharedRun } from '../shared-run.js';
import { parseTrace, timelineHTML } from '../../src/instrument/timeline.js';
import type { TraceEvent } from '../../src/instrument/trace.js';
import { tempDir } from '../helpers.js';
import { runFixture } from '../run-fixture.js';

// The page's test hook (window.greenioTimeline), and the bits of DOM elements read here:
// the project compiles without the DOM library, and types are erased in page.evaluate.
interface Hook {
  greenioTimeline: { lanes: number; ops: number; blocks: number; view: { a: number; b: number }; locate(i: number): { x: number; y: number } };
}
interface Marker {
  dataset: { tip?: string };
  style: { display: string };
}

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

describe('parseTrace()', () => {
  const ev = { name: 'sleep', ph: 'X', ts: 0, dur: 5, pid: 1, tid: 1 };

  it('accepts an array of events or { traceEvents }', () => {
    expect(parseTrace(JSON.stringify([ev]))).toEqual([ev]);
    expect(parseTrace(JSON.stringify({ traceEvents: [ev], displayTimeUnit: 'ms' }))).toEqual([ev]);
  });

  it('rejects bad JSON with a SyntaxError and a non-trace with a TypeError naming the problem', () => {
    expect(() => parseTrace('{"traceEvents": [')).toThrow(SyntaxError);
    expect(() => parseTrace('{"events": []}')).toThrow(/not a Chrome trace/);
    expect(() => parseTrace('[1]')).toThrow(/trace event 0 is not an object/);
    expect(() => parseTrace(JSON.stringify([{ ...ev, ph: 'Q' }]))).toThrow(/trace event 0 has no valid `ph`/);
    expect(() => parseTrace(JSON.stringify([ev, { ...ev, dur: 'x' }]))).toThrow(/trace event 1 \(a complete event\) has no numeric `dur`/);
    expect(() => parseTrace(JSON.stringify([{ ...ev, ts: null }]))).toThrow(/has no numeric `ts`/);
  });
});

describe('timelineHTML()', () => {
  it('is one self-contained page: no external script, style, font or request', () => {
    const html = timelineHTML([{ name: 'x', ph: 'X', ts: 0, dur: 1, pid: 1, tid: 1, cat: 'fs', args: { detail: '</script><script>alert(1)</script>' } }]);
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).not.toMatch(/<script[^>]+src=|<link |@import|url\(|https?:\/\//);
    // A detail cannot close the data element.
    expect(html.match(/<\/script>/g)).toHaveLength(2);
  });

  it('rejects something that is not a trace', () => {
    expect(() => timelineHTML({} as never)).toThrow(TypeError);
    expect(() => timelineHTML([], { title: 3 as never })).toThrow(TypeError);
  });
});

describe('the HTML timeline in Chromium', () => {
  const tmp = tempDir('greenio-timeline-');
  let browser: Browser;
  let events: TraceEvent[];
  sharedRun(async () => {
    const file = join(tmp.dir, 'trace.json');
    const run = runFixture('instrument-trace.ts', [file]);
    if (run.status !== 0) throw new Error(run.stderr);
    events = parseTrace(readFileSync(file, 'utf8'));
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  }, 150_000); // a fixture and a browser, both slow to start on a busy machine
  afterAll(async () => {
    await browser?.close();
    tmp.cleanup();
  });

  async function open(html: string, name: string) {
    const path = join(tmp.dir, name);
    writeFileSync(path, html);
    const page = await browser.newPage({ viewport: { width: 1200, height: 700 } });
    const errors: string[] = [];
    const requests: string[] = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    page.on('request', (r) => requests.push(r.url()));
    await page.goto(pathToFileURL(path).href);
    return { page, errors, requests, url: pathToFileURL(path).href };
  }

  it('draws one lane per greenlet and marks the blocking events, with no error and no request', async () => {
    const { page, errors, requests, url } = await open(timelineHTML(events), 'timeline.html');
    const lanes = await page.$$eval('.lane b', (els) => els.map((e) => e.textContent));
    expect(lanes).toEqual([
      'main', 'reader-1 (read)', 'reader-2 (read)', 'reader-3 (read)', 'Greenlet-4 (consume)', 'Greenlet-5 (produce)',
      'Greenlet-6 (fail)', 'spinner (spin)', 'sleeper (nap)',
    ]);
    const markers = await page.$$eval('.block-marker', (els) => els.map((e) => ({ tip: (e as unknown as Marker).dataset.tip ?? '', shown: (e as unknown as Marker).style.display !== 'none' })));
    // One marker per blocking report: the spinner's stall and the readFileSync, and any
    // stall a busy machine caused outside the program's code.
    const blocks = events.filter((e) => e.ph === 'i' && e.cat === 'block').length;
    expect(blocks).toBeGreaterThanOrEqual(2);
    expect(markers).toHaveLength(blocks);
    expect(markers.every((m) => m.shown)).toBe(true);
    const tips = markers.map((m) => m.tip.split('\n')[0]!);
    expect(tips.filter((t) => /^blocked: event loop stall for [\d.]+ m?s at \+/.test(t)).length, tips.join('; ')).toBeGreaterThanOrEqual(1);
    expect(tips.filter((t) => /^blocked: fs\.readFileSync for /.test(t))).toHaveLength(1);
    expect(await page.textContent('#summary')).toMatch(new RegExp(`^9 greenlet lane\\(s\\), 22 wait\\(s\\), ${blocks} blocking event\\(s\\)`));
    expect(errors).toEqual([]);
    expect(requests).toEqual([url]);
    await page.screenshot({ path: join(tmp.dir, 'timeline.png') });
    expect(statSync(join(tmp.dir, 'timeline.png')).size).toBeGreaterThan(10_000);
    await page.close();
  });

  it('shows a wait\'s kind, detail, greenlet and duration on hover, and zooms', async () => {
    const { page, errors } = await open(timelineHTML({ traceEvents: events }), 'hover.html');
    const ops = await page.evaluate(() => (globalThis as unknown as Hook).greenioTimeline.ops);
    expect(ops).toBe(22);
    let found = false;
    for (let i = 0; i < ops && !found; i++) {
      const p = await page.evaluate((n) => (globalThis as unknown as Hook).greenioTimeline.locate(n), i);
      await page.mouse.move(p.x, p.y);
      const tip = (await page.isVisible('#tip')) ? await page.textContent('#tip') : '';
      if (tip?.startsWith('queue.get')) {
        expect(tip).toMatch(/^queue\.get Queue size=\d+ .*\nGreenlet-4 \(consume\)\nwaited \d+(\.\d+)? ms from \+/);
        found = true;
      }
    }
    expect(found).toBe(true);
    const span = (): Promise<number> => page.evaluate(() => { const v = (globalThis as unknown as Hook).greenioTimeline.view; return v.b - v.a; });
    const full = await span();
    await page.click('#zin');
    expect(await span()).toBeCloseTo(full / 2, 3);
    await page.click('#zreset');
    expect(await span()).toBeCloseTo(full, 3);
    expect(errors).toEqual([]);
    await page.close();
  });

  it('draws B/E pairs from other tools as waits', async () => {
    const other: TraceEvent[] = [
      { name: 'thread_name', ph: 'M', ts: 0, pid: 7, tid: 3, args: { name: 'worker' } },
      { name: 'read', ph: 'B', ts: 100, pid: 7, tid: 3, cat: 'fs' },
      { name: 'read', ph: 'E', ts: 900, pid: 7, tid: 3 },
      { name: 'stall', ph: 'i', ts: 500, pid: 7, tid: 3, s: 't', cat: 'block', args: { durationMs: 0.2 } },
    ];
    const { page, errors } = await open(timelineHTML(other), 'other.html');
    expect(await page.$$eval('.lane b', (els) => els.map((e) => e.textContent))).toEqual(['worker']);
    expect(await page.evaluate(() => (globalThis as unknown as Hook).greenioTimeline)).toMatchObject({ ops: 1, blocks: 1 });
    expect(errors).toEqual([]);
    await page.close();
  });
});
