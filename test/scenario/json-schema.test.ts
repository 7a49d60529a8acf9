// The committed JSON Schema is the generated one, and describes the language.

import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { OP_NAMES, scenarioJsonSchema, scenarioJsonSchemaText } from '../../src/scenario/index.js';
import { schemaFile } from './paths.js';

describe('schema/scenario.schema.json', () => {
  it('is up to date (run `npm run schema` after changing src/scenario/schema.ts)', () => {
    assert.equal(readFileSync(schemaFile, 'utf8'), scenarioJsonSchemaText());
  });

  it('has a title, usage note and descriptions for editors', () => {
    const schema = scenarioJsonSchema() as {
      $schema: string; $comment: string; title: string; description: string;
      properties: Record<string, { description?: string }>; additionalProperties: boolean;
    };
    assert.match(schema.$schema, /json-schema\.org/);
    assert.match(schema.$comment, /# yaml-language-server: \$schema=\.\.\/schema\/scenario\.schema\.json/);
    assert.equal(schema.title, 'daxref scenario');
    assert.equal(schema.additionalProperties, false);
    for (const key of ['name', 'devices', 'files', 'threads', 'schedule', 'expect']) {
      assert.ok(schema.properties[key]?.description, `no description on ${key}`);
    }
  });

  it('names every operation', () => {
    const text = scenarioJsonSchemaText();
    for (const op of OP_NAMES) assert.ok(text.includes(`"${op}"`), op);
  });
});
