// pan's report, as Spin 6.5.2 prints it (fixtures captured from model.pml runs),
// parsed into the numbers the bench table shows.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parsePan, spinDefines } from '../../bench/spin.js';
import { repoRoot } from '../scenario/paths.js';

const fixture = (name: string) => readFileSync(join(repoRoot, 'test', 'fixtures', 'bench', name), 'utf8');

test('a clean pan run: ok, with its counts and memory', () => {
  const r = parsePan(fixture('pan-none-k2f1p1w1.log'), 1.5);
  assert.equal(r.verdict, 'ok');
  assert.equal(r.states, 4538);
  assert.equal(r.transitions, 8661);
  assert.equal(r.stateVectorBytes, 72);
  assert.equal(r.depth, 79);
  assert.equal(r.memoryMB, 181.894);
  assert.equal(r.bytesPerState, (0.561 * 1048576) / 4538);
  assert.equal(r.seconds, 0);
  assert.equal(r.what, undefined);
});

test('a pan run that finds the bug: violation, what and at which depth', () => {
  const r = parsePan(fixture('pan-bug-skip-locked-k2f1p1w1.log'), 1);
  assert.equal(r.verdict, 'violation');
  assert.equal(r.what, 'assertion violated (blk[i]==0)');
  assert.equal(r.errorDepth, 68);
  assert.equal(r.states, 747);
});

test('a pan -i run (compiled -DREACH): every shorter trail it found, the last the shortest', () => {
  const r = parsePan(fixture('pan-bug-skip-locked-k2f1p1w1-shortest.log'), 1);
  assert.equal(r.verdict, 'violation');
  assert.equal(r.errorDepth, 68, 'the first error');
  assert.equal(r.shortestTrail, 66);
  assert.equal(r.states, 4258);
  assert.equal(parsePan(fixture('pan-bug-skip-locked-k2f1p1w1.log'), 1).shortestTrail, undefined, 'a plain run has no shortened trail');
});

test('a report cut off before the summary is not a verdict', () => {
  assert.equal(parsePan('pan: elapsed time 1 seconds\n', 1).verdict, 'failed');
});

test('run.sh\'s -D flags', () => {
  const base = { K: 3, F: 2, P: 2, W: 1, quick: false, noPor: false };
  assert.deepEqual(spinDefines({ variant: 'NONE', ...base }), ['-DK=3', '-DF=2', '-DP=2', '-DW=1']);
  assert.deepEqual(spinDefines({ variant: 'NONE_EVICT', ...base })[0], '-DEVICT');
  assert.deepEqual(spinDefines({ variant: 'BUG_XAS_PAUSE', ...base })[0], '-DBUG_XAS_PAUSE');
});
