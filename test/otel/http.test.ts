// greenio/otel and HTTP: under the patch, a fetch or http.get issued by a greenlet is a
// client operation, so it gets a span under the greenlet's span (kind, redacted detail,
// outcome), and a failed or interrupted request's span records its error. Real server on
// 127.0.0.1; this file's process starts patched.
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { context, trace, SpanStatusCode } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { spawn, withTimeout } from '../../src/index.js';
import { patchAll, unpatchAll } from '../../src/monkey.js';
import { registerGreenioInstrumentation } from '../../src/otel/index.js';

patchAll({ warnLate: false });
const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
let server: http.Server;
let base = '';
beforeAll(async () => {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  trace.setGlobalTracerProvider(provider);
  server = http.createServer((req, res) => {
    if (req.url !== '/slow') res.end('ok'); // /slow never answers
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
  await provider.shutdown();
  context.disable();
  trace.disable();
  unpatchAll();
});

describe('greenio/otel: HTTP requests', () => {
  it('a span per request under its greenlet\'s span; a timed-out one records its TimeoutError', async () => {
    exporter.reset();
    const unregister = registerGreenioInstrumentation();
    try {
      const g = spawn(async function fetcher() {
        expect(await (await fetch(`${base}/ok?token=abc`)).text()).toBe('ok');
        await withTimeout(50, () => fetch(`${base}/slow`)).catch(() => {});
      });
      await g.join();
      expect(g.successful()).toBe(true);
    } finally {
      unregister();
    }
    const spans = exporter.getFinishedSpans();
    const greenlet = spans.find((s) => s.name === String(spans.find((x) => x.attributes['code.function'] === 'fetcher')?.name))!;
    const requests = spans.filter((s) => s.attributes['greenio.kind'] === 'fetch');
    expect(requests.map((s) => [s.name, s.attributes['greenio.detail'], s.attributes['greenio.outcome'], s.status.code])).toEqual([
      ['fetch', `GET ${base}/ok?token=REDACTED`, 'ok', SpanStatusCode.UNSET],
      ['fetch', `GET ${base}/slow`, 'timedOut', SpanStatusCode.ERROR],
    ]);
    for (const s of requests) expect(s.parentSpanContext?.spanId).toBe(greenlet.spanContext().spanId);
    expect(requests[1]!.status.message).toMatch(/^timedOut: /);
    expect(requests[1]!.events.map((e) => [e.name, e.attributes?.['exception.type']])).toEqual([['exception', 'GREENIO_TIMEOUT']]); // OTel names an error by its `code`
  });
});
