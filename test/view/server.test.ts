// `daxref view` serves the page on 127.0.0.1 only and nothing but the page;
// `daxref report` reads traces, check results and scenarios, and reports bad
// input as file:line:col.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serveReport } from '../../src/view/report.js';
import { repoRoot } from '../scenario/paths.js';

const SCN = join(repoRoot, 'scenarios', 'truncate-waits-for-dma.yaml');
const BIN = join(repoRoot, 'bin', 'daxref.js');

function get(url: string, path: string, opts: { method?: string; host?: string } = {}): Promise<{ status: number; body: string }> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: u.port, path, method: opts.method ?? 'GET', headers: opts.host ? { host: opts.host } : {} }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('the server binds 127.0.0.1, serves the page, and rejects every other path', async () => {
  const { server, url } = await serveReport(() => '<!doctype html><p>the page</p>');
  try {
    const a = server.address();
    assert.ok(a && typeof a === 'object');
    assert.equal(a.address, '127.0.0.1');
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
    assert.equal((await get(url, '/')).status, 200);
    assert.match((await get(url, '/')).body, /the page/);
    assert.equal((await get(url, '/index.html?x=1')).status, 200);
    for (const p of ['/../../../etc/passwd', '/%2e%2e/%2e%2e/etc/passwd', '/..%2f..%2fetc%2fpasswd', '//etc/passwd', '/dist/view/daxref-view.js', '/package.json', '/index.html/..', '/\\..\\etc\\passwd', 'http://evil.example/'])
      assert.equal((await get(url, p)).status, 404, p);
    assert.equal((await get(url, '/', { method: 'POST' })).status, 405);
    assert.equal((await get(url, '/', { host: 'evil.example' })).status, 403, 'a foreign Host header (DNS rebinding) is refused');
  } finally {
    server.close();
  }
});

test('daxref view SCENARIO prints a 127.0.0.1 URL that serves the viewer', async () => {
  const child = spawn(process.execPath, [BIN, 'view', SCN, '--kernel', 'v6.15'], { stdio: ['ignore', 'pipe', 'pipe'] });
  try {
    const line = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout.on('data', (c) => {
        out += c;
        if (out.includes('\n')) resolve(out);
      });
      child.on('exit', (code) => reject(new Error(`daxref view exited ${code}`)));
    });
    const url = /(http:\/\/127\.0\.0\.1:\d+\/)/.exec(line)?.[1];
    assert.ok(url, line);
    const r = await get(url, '/');
    assert.equal(r.status, 200);
    assert.match(r.body, /id="daxref-data"/);
    assert.match(r.body, /truncate waits for a DMA pin/);
    assert.equal((await get(url, '/../scenarios/truncate-waits-for-dma.yaml')).status, 404);
  } finally {
    child.kill();
  }
});

test('daxref report reads a run trace and a check result; bad input is located', () => {
  const dir = mkdtempSync(join(tmpdir(), 'daxref-report-'));
  try {
    const run = spawnSync(process.execPath, [BIN, 'run', SCN, '--kernel', 'v6.12', '--format', 'json'], { encoding: 'utf8' });
    const trace = JSON.parse(run.stdout);
    writeFileSync(join(dir, 'trace.json'), run.stdout);
    writeFileSync(join(dir, 'check.json'), JSON.stringify({ verdict: 'violation', kernel: 'v6.12', states: 257, violation: { invariant: 'block-reuse-under-dma', message: 'm', trace } }));
    writeFileSync(join(dir, 'top.json'), JSON.stringify({ verdict: 'violation', trace }));
    for (const f of ['trace.json', 'check.json', 'top.json']) {
      const out = join(dir, `${f}.html`);
      const r = spawnSync(process.execPath, [BIN, 'report', join(dir, f), '-o', out], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      const html = readFileSync(out, 'utf8');
      assert.match(html, /block-reuse-under-dma/);
      assert.doesNotMatch(html, /<script[^>]*\ssrc=|<link[^>]*\shref=/, 'nothing is loaded from elsewhere');
    }
    writeFileSync(join(dir, 'bad.json'), '{\n  "states": [1,\n  }');
    const bad = spawnSync(process.execPath, [BIN, 'report', join(dir, 'bad.json'), '-o', join(dir, 'x.html')], { encoding: 'utf8' });
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /bad\.json:3:3: invalid JSON/);
    assert.doesNotMatch(bad.stderr, /\n\s+at /, 'no stack trace');
    writeFileSync(join(dir, 'notrace.json'), '{"states": [{"x": 1}]}');
    const nt = spawnSync(process.execPath, [BIN, 'report', join(dir, 'notrace.json'), '-o', join(dir, 'x.html')], { encoding: 'utf8' });
    assert.equal(nt.status, 2);
    assert.match(nt.stderr, /notrace\.json:1:1: not a daxref trace/);
    const k3 = spawnSync(process.execPath, [BIN, 'report', SCN, '--kernel', 'v6.12', '--kernel', 'v6.15', '--kernel', 'latest'], { encoding: 'utf8', cwd: dir });
    assert.equal(k3.status, 2);
    assert.match(k3.stderr, /at most twice/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
