import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { config } from '../../src/index.js';
import { redactUrl } from '../../src/internal/redact.js';
import { timelineHTML } from '../../src/instrument/timeline.js';
import { runFixture } from '../run-fixture.js';

// Names of ops never carry secrets: userinfo always redacted, query values by default
// (OpenTelemetry's `url.full` rule), `config.keepQueryValues` keeps the latter.
describe('redactUrl', () => {
  afterEach(() => {
    config.keepQueryValues = false;
  });

  it.each([
    ['http://alice:hunter2@127.0.0.1:8080/a?api_key=SECRET123&token=TOK456', 'http://REDACTED:REDACTED@127.0.0.1:8080/a?api_key=REDACTED&token=REDACTED'],
    ['https://tok3n@example.com/', 'https://REDACTED:REDACTED@example.com/'],
    ['http://a:p@ss@host/x', 'http://REDACTED:REDACTED@host/x'],
    ['http://host/a@b', 'http://host/a@b'],
    ['/search?q=x&flag&empty=', '/search?q=REDACTED&flag&empty='],
    ['http://host/cb#access_token=abc&state=1', 'http://host/cb#access_token=REDACTED&state=REDACTED'],
    ['http://host/p?a=1#section', 'http://host/p?a=REDACTED#section'],
    ['http://127.0.0.1:8080/slow/3', 'http://127.0.0.1:8080/slow/3'],
    ['', ''],
  ])('%s → %s', (url, safe) => {
    expect(redactUrl(url)).toBe(safe);
  });

  it('with config.keepQueryValues, keeps query values but never userinfo', () => {
    config.keepQueryValues = true;
    expect(redactUrl('http://alice:hunter2@h/p?api_key=SECRET123')).toBe('http://REDACTED:REDACTED@h/p?api_key=SECRET123');
  });

  it('config.keepQueryValues takes booleans only, quoting a bad value', () => {
    expect(() => {
      config.keepQueryValues = 'yes' as never;
    }).toThrow(new TypeError("Expected `keepQueryValues` to be a boolean, got `'yes'` (string)"));
  });

  it('GREENIO_KEEP_QUERY_VALUES sets it at start, and a bad value fails at start', () => {
    const script = "import { config } from './src/index.ts'; console.log(config.keepQueryValues)";
    const root = fileURLToPath(new URL('../..', import.meta.url));
    const run = (v: string) => spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: root, encoding: 'utf8', env: { ...process.env, GREENIO_KEEP_QUERY_VALUES: v } });
    expect(run('1').stdout.trim()).toBe('true');
    expect(run('').stdout.trim()).toBe('false');
    const bad = run('maybe');
    expect(bad.status).not.toBe(0);
    expect(bad.stderr).toMatch(/GREENIO_KEEP_QUERY_VALUES.*maybe/);
  });
});

describe('a traced process making requests to URLs with secrets (fetch, http.get, undici)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'greenio-redact-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const preload = fileURLToPath(new URL('../../src/patch.ts', import.meta.url));
  const trace = (keep: string) => {
    const file = join(dir, `trace-${keep}.json`);
    const r = runFixture('http-secrets.ts', [], { GREENIO_TRACE: file, GREENIO_KEEP_QUERY_VALUES: keep }, ['--import', preload]);
    return { r, text: readFileSync(file, 'utf8'), out: r.json as { runInfo: string; details: string[] } };
  };
  const dflt = trace('0');
  const kept = trace('1');

  it('runs', () => {
    expect(dflt.r.status, dflt.r.stderr).toBe(0);
    expect(kept.r.status, kept.r.stderr).toBe(0);
  });

  it('its trace, its timeline, run-info and greenio:io:start hold neither the password nor a query value', () => {
    const timeline = timelineHTML(JSON.parse(dflt.text) as { traceEvents: [] });
    for (const text of [dflt.text, timeline, dflt.out.runInfo, dflt.out.details.join('\n')]) {
      expect(text).not.toMatch(/hunter2|SECRET123|TOK456/);
    }
    // ... and the requests are there, named.
    expect(dflt.text).toContain('GET http://REDACTED:REDACTED@127.0.0.1:');
    expect(dflt.text).toMatch(/GET http:\/\/127\.0\.0\.1:\d+\/fast\?api_key=REDACTED&token=REDACTED/);
    expect(dflt.out.runInfo).toMatch(/waits on: fetch GET http:\/\/127\.0\.0\.1:\d+\/slow\/1\?token=REDACTED/);
    expect(dflt.out.runInfo).toMatch(/http\.request GET http:\/\/127\.0\.0\.1:\d+\/slow\/1\?api_key=REDACTED/);
    expect(dflt.out.details.some((d) => /^GET http:\/\/127\.0\.0\.1:\d+\/fast\?token=REDACTED$/.test(d))).toBe(true); // undici
  });

  it('with GREENIO_KEEP_QUERY_VALUES=1 the query values stay, the password never', () => {
    expect(kept.text).toContain('SECRET123');
    expect(kept.text).toContain('TOK456');
    expect(kept.text).not.toContain('hunter2');
    expect(kept.out.runInfo).not.toContain('hunter2');
  });
});
