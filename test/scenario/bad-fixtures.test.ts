// Every file in test/fixtures/bad/ is a scenario that must be rejected. Its
// first line states the expected error: `# error at LINE:COL: MESSAGE-FRAGMENT`.

import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { parseScenario, ScenarioError } from '../../src/scenario/index.js';
import { badFixtures } from './paths.js';

const HEADER = /^# error at (\d+):(\d+): (.+)$/;
const names = readdirSync(badFixtures).filter((n) => n.endsWith('.yaml')).sort();

describe('bad scenarios are rejected with a located, one-line message', () => {
  it('has at least 15 bad fixtures', () => assert.ok(names.length >= 15, `only ${names.length}`));

  for (const name of names) {
    it(name, () => {
      const text = readFileSync(join(badFixtures, name), 'utf8');
      const header = HEADER.exec(text.split('\n')[0]);
      assert.ok(header, `${name}: first line must be '# error at LINE:COL: MESSAGE'`);
      const [, line, col, fragment] = header;

      const err = catchError(() => parseScenario(text, name));
      assert.ok(err instanceof ScenarioError, `expected a ScenarioError, got ${String(err)}`);
      assert.equal(`${err.file}:${err.line}:${err.col}`, `${name}:${line}:${col}`, err.message);
      assert.ok(err.message.startsWith(`${name}:${line}:${col}: `), err.message);
      assert.ok(err.message.includes(fragment), `message ${JSON.stringify(err.message)} lacks ${JSON.stringify(fragment)}`);
      assert.equal(String(err), err.message);
      assert.ok(!err.message.includes('\n'), 'message must be one line');
    });
  }
});

function catchError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  assert.fail('expected an error');
}
