// `daxref check` and `daxref run --replay` as a user runs them: exit statuses,
// JSON shape, located messages for bad input, no stack traces.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const repo = join(import.meta.dirname, '..', '..', '..');
const bin = join(repo, 'bin', 'daxref.js');
const tdma = join(repo, 'scenarios', 'truncate-waits-for-dma.yaml');
const daxref = (...args: string[]) => spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8' });

test('ok exits 0, a violation 1, a bound 3', () => {
  assert.equal(daxref('check', tdma, '--kernel', 'latest').status, 0);
  const v = daxref('check', tdma, '--kernel', 'v6.12');
  assert.equal(v.status, 1);
  assert.match(v.stdout, /verdict: violation of warn-dax-disassociate-entry-busy/);
  assert.match(v.stdout, /shortest trace \(\d+ atomic steps/);
  const b = daxref('check', tdma, '--kernel', 'latest', '--max-states', '20');
  assert.equal(b.status, 3);
  assert.match(b.stdout, /verdict: incomplete \(state bound \(20\) reached/);
  assert.equal(b.stderr, '', 'no progress line when stderr is not a terminal');
});

test('--format json has the documented fields, and its trace replays to the violation', () => {
  const r = daxref('check', tdma, '--kernel', 'v6.12', '--invariant', 'block-reuse-under-dma', '--format', 'json');
  assert.equal(r.status, 1);
  const j = JSON.parse(r.stdout);
  for (const f of ['verdict', 'kernel', 'fixes', 'states', 'transitions', 'seconds', 'statesPerSecond', 'bytesPerState', 'depth', 'violation'])
    assert.ok(f in j, f);
  assert.equal(j.violation.invariant, 'block-reuse-under-dma');
  const dir = mkdtempSync(join(tmpdir(), 'daxref-'));
  const file = join(dir, 'cx.json');
  writeFileSync(file, r.stdout);
  const again = daxref('run', tdma, '--kernel', 'v6.12', '--replay', file);
  assert.match(again.stdout, new RegExp(`step ${j.violation.trace.states.length - 1}: block-reuse-under-dma`));
});

test('bad input: a located or named message, exit 2, no stack trace', () => {
  const dir = mkdtempSync(join(tmpdir(), 'daxref-'));
  const broken = join(dir, 'broken.json');
  writeFileSync(broken, '{\n  "states": [\n    {"#meta": {"index": 0}}\n}\n');
  const cases: [string[], RegExp][] = [
    [['check', tdma, '--invariant', 'no-such-thing'], /--invariant no-such-thing: unknown id/],
    [['check', tdma, '--max-states', 'many'], /--max-states many: expected a positive number/],
    [['check', tdma, '--max-memory', '4Q'], /--max-memory 4Q:/],
    [['check', tdma, '--kernel', 'v5.0'], /v5\.0/],
    [['run', tdma, '--replay', join(dir, 'missing.json')], /missing\.json: no such file/],
    [['run', tdma, '--replay', broken], /broken\.json:\d+:\d+: not a JSON trace/],
  ];
  for (const [args, msg] of cases) {
    const r = daxref(...args);
    assert.equal(r.status, 2, args.join(' '));
    assert.match(r.stderr, msg);
    assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace');
  }
  const wrong = join(dir, 'wrong.json');
  writeFileSync(wrong, JSON.stringify({ states: [{ '#meta': { index: 0 } }, { '#meta': { thread: 'nobody' } }] }));
  const r = daxref('run', tdma, '--replay', wrong);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /state 1: thread "nobody" is not a thread of scenario/);
});
