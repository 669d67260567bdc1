// The crawler demo's test site: a few hundred linked pages on 127.0.0.1, some slow, some failing, the same on every run.
//
// Run alone: node --import tsx examples/crawler/site.ts   (prints its URL; Ctrl-C stops it)
//
// A crawler has to cope with a web that misbehaves, so this one does, on purpose and
// deterministically (no randomness: every run crawls the same site and a test can
// count on the numbers):
//   - every page links to a few others: a tree (so all are reachable) plus cross links;
//   - most pages answer within 5-55 ms; every 29th takes 3 s (beyond a sane budget);
//   - every 31st answers HTTP 500, every 47th drops the connection without answering;
//   - some links point to pages that do not exist (404), or off-site (to be skipped).
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';

export const PAGES = 300;
export const SLOW_MS = 3000;

export type PageKind = 'ok' | 'slow' | 'error' | 'reset';

/** What `/page/<n>` does. */
export function pageKind(n: number): PageKind {
  if (n > 0 && n % 29 === 0) return 'slow';
  if (n > 0 && n % 31 === 0) return 'error';
  if (n > 0 && n % 47 === 0) return 'reset';
  return 'ok';
}

/** The links of `/page/<n>` (same-site ones as paths, plus a dead and an off-site link). */
export function linksOf(n: number, pages: number): string[] {
  const targets = new Set([2 * n + 1, 2 * n + 2, (n * 7 + 3) % pages, (n * 13 + 5) % pages]);
  const links = [...targets].filter((k) => k < pages && k !== n).map((k) => `/page/${k}`);
  if (n % 23 === 0) links.push(`/page/${pages + n}`); // a dead link: 404
  if (n % 10 === 0) links.push('https://example.com/elsewhere'); // off-site: never fetched
  return links;
}

function html(title: string, links: string[]): string {
  const items = links.map((href) => `    <li><a href="${href}">${href}</a></li>`).join('\n');
  return `<!doctype html>\n<html><head><title>${title}</title></head>\n<body>\n  <h1>${title}</h1>\n  <ul>\n${items}\n  </ul>\n</body></html>\n`;
}

/** The site as an (unstarted) HTTP server. */
export function createSite(pages = PAGES): Server {
  const server = createServer((req, res) => {
    if (req.url === '/') {
      res.setHeader('content-type', 'text/html');
      res.end(html('Home', ['/page/0', 'https://example.com/']));
      return;
    }
    const match = /^\/page\/(\d+)$/.exec(req.url ?? '');
    const n = match ? Number(match[1]) : -1;
    if (n < 0 || n >= pages) {
      res.statusCode = 404;
      res.end('not found\n');
      return;
    }
    const kind = pageKind(n);
    if (kind === 'reset') {
      req.socket.destroy(); // the client sees the connection drop, with no answer at all
      return;
    }
    const timer = setTimeout(
      () => {
        if (kind === 'error') {
          res.statusCode = 500;
          res.end('internal server error\n');
          return;
        }
        res.setHeader('content-type', 'text/html');
        res.end(html(`Page ${n}`, linksOf(n, pages)));
      },
      kind === 'slow' ? SLOW_MS : 5 + ((n * 37) % 51),
    );
    // A client that gave up (a crawler's timeout): stop working for it.
    res.on('close', () => clearTimeout(timer));
  });
  // Idle keep-alive sockets outlive the client's own keep-alive (undici: 4 s), so on a busy
  // machine the crawler never sends on a socket the site is closing ("other side closed").
  server.keepAliveTimeout = 30_000;
  return server;
}

// As a script: serve on a free port, say where, and stop with the parent.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const server = createSite();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  if (process.send) {
    // Started by crawl.ts (fork): hand it the URL, and exit when it goes away.
    process.send({ url });
    process.on('disconnect', () => process.exit(0));
  } else {
    console.log(`site: ${PAGES} pages at ${url}`);
  }
}
