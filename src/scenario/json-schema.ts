// The JSON Schema published in schema/scenario.schema.json, for editors.

import { z } from 'zod';
import { jsonSchemaSource } from './schema.js';

export const SCHEMA_USAGE =
  'Reference it from a scenario YAML file with a first line such as: ' +
  '# yaml-language-server: $schema=../schema/scenario.schema.json ' +
  '(or, in a JSON scenario, "$schema": "../schema/scenario.schema.json"). ' +
  'Generated from src/scenario/schema.ts by `npm run schema`; do not edit by hand.';

export function scenarioJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(jsonSchemaSource, { io: 'input', target: 'draft-2020-12' });
  const { $schema, title, description, ...rest } = generated;
  // Put the header first, where a reader opening the file sees it.
  return { $schema, $comment: SCHEMA_USAGE, title, description, ...rest };
}

/** The file's exact text: 2-space JSON and a final newline. */
export function scenarioJsonSchemaText(): string {
  return JSON.stringify(scenarioJsonSchema(), null, 2) + '\n';
}
