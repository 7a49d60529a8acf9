// `daxref report` / `daxref view`: turn traces into one self-contained HTML page
// (the Vite-built viewer of web/ inlined with the data), and serve it on
// 127.0.0.1 only.
import { createHash } from 'node:crypto';
import { readFileSync, existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { jsonForScript, type PackedTrace, type ViewerData, traceTitle } from './model.js';

const ASSET_DIR = new URL('../../view/', import.meta.url);

export class ViewerBuildError extends Error {}

function asset(name: string): string {
  const u = new URL(name, ASSET_DIR);
  if (!existsSync(u)) throw new ViewerBuildError(`the viewer page is not built (${u.pathname} is missing): run \`npm run build\``);
  return readFileSync(u, 'utf8');
}

/** The whole page: no network access (CSP default-src 'none'), scripts allowed only by hash. */
export function renderReport(traces: PackedTrace[], labels: string[], title?: string): string {
  const js = asset('daxref-view.js');
  const css = asset('daxref-view.css');
  if (/<\/script/i.test(js) || /<\/style/i.test(css)) throw new ViewerBuildError('the viewer bundle contains a closing tag; it cannot be inlined');
  const data: ViewerData = { title: title ?? traceTitle(traces[0] as unknown as Parameters<typeof traceTitle>[0]), traces, labels };
  const hash = createHash('sha256').update(js).digest('base64');
  const csp = `default-src 'none'; script-src 'sha256-${hash}'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'none'`;
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${csp}">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<title>daxref trace</title>',
    `<style>${css}</style>`,
    '</head><body><div id="app"></div>',
    `<script id="daxref-data" type="application/json">${jsonForScript(data)}</script>`,
    `<script>${js}</script>`,
    '</body></html>',
    '',
  ].join('\n');
}

export const SERVED_PATHS = new Set(['/', '/index.html', '/report.html']);

/**
 * Serve the page (rebuilt by `page()` on each load, so a live session sees an
 * edited scenario) on 127.0.0.1 at `port` (0: a free one). Only GET/HEAD of
 * SERVED_PATHS with a loopback Host header are answered.
 */
export function serveReport(page: () => string, port = 0): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    const send = (code: number, body: string, type = 'text/plain; charset=utf-8') => {
      res.writeHead(code, { 'content-type': type, 'x-content-type-options': 'nosniff', 'cache-control': 'no-store', 'referrer-policy': 'no-referrer' });
      res.end(req.method === 'HEAD' ? undefined : body);
    };
    const addr = server.address();
    const p = typeof addr === 'object' && addr ? addr.port : 0;
    if (req.headers.host !== `127.0.0.1:${p}` && req.headers.host !== `localhost:${p}`) return send(403, 'forbidden host\n');
    if (req.method !== 'GET' && req.method !== 'HEAD') return send(405, 'method not allowed\n');
    const path = (req.url ?? '').split(/[?#]/)[0];
    if (!SERVED_PATHS.has(path)) return send(404, 'not found\n');
    let html: string;
    try {
      html = page();
    } catch (e) {
      return send(500, `${(e as Error).message}\n`);
    }
    send(200, html, 'text/html; charset=utf-8');
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      const a = server.address();
      resolve({ server, url: `http://127.0.0.1:${typeof a === 'object' && a ? a.port : port}/` });
    });
  });
}
