// The port in an `http.request`'s op name, read from a URL string by a scan instead of a
// `new URL` per request: it must read what `new URL` reads. `new URL` drops the scheme's
// default port, which the op name drops too, so a scanned default counts as ''.
import { describe, expect, it } from 'vitest';
import { portOfString } from '../../patches/http.js';

const DEFAULT: Record<string, string> = { 'http:': '80', 'https:': '443', 'ws:': '80', 'wss:': '443' };
/** What the op name shows: no port when it is the scheme's default. */
const shown = (url: string, port: string): string => (port === DEFAULT[new URL(url).protocol] ? '' : port);

describe('the port of a request URL given as a string', () => {
  it.each([
    'http://127.0.0.1:8080/x',
    'http://h/',
    'http://h',
    'http://h:080',
    'https://h:443/x',
    'https://h:8443',
    'https://u:p@h:9/x?y=:1',
    'http://u:p:x@h/a:5',
    'http://u@h:7#:5',
    'http://[::1]/',
    'http://[::1]:81/a',
    'http://[2001:db8::1]',
    'http://h:/',
    'http://h?a=:4',
    'HTTP://H:8080',
    'http://h:65535/',
    'http://h:00081/',
  ])('%s: as new URL reads it', (url) => {
    expect(shown(url, portOfString(url))).toBe(new URL(url).port);
  });

  it.each(['/path', 'h:80/x', '', 'no url at all'])('%j: no absolute URL, no port', (url) => {
    expect(portOfString(url)).toBe('');
  });
});
