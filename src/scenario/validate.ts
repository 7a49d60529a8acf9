// Structural validation: run the zod schema over the YAML data and turn the
// first problem (in file order) into a located ScenarioError.

import type { z } from 'zod';
import { ScenarioError } from './errors.js';
import { issueTarget, plainEnglish } from './messages.js';
import { scenarioSchema, type RawScenario } from './schema.js';
import type { YamlSource } from './source.js';

export function validateStructure(src: YamlSource): RawScenario {
  const result = scenarioSchema.safeParse(src.data, { error: plainEnglish, reportInput: true });
  if (result.success) return result.data as RawScenario;
  const located = relevant(result.error.issues).map((iss) => {
    const { path, target } = issueTarget(iss);
    return { pos: src.pos(path, target), message: iss.message };
  });
  // Stable sort: issues at the same spot keep zod's order.
  located.sort((a, b) => a.pos.line - b.pos.line || a.pos.col - b.pos.col);
  throw ScenarioError.at(located[0].pos, located[0].message);
}

/** A misspelt key shows up twice: as an unknown key and as a missing field of
 * the same mapping. Only the unknown key is worth reporting. */
function relevant(issues: z.core.$ZodIssue[]): z.core.$ZodIssue[] {
  const key = (path: PropertyKey[]) => JSON.stringify(path.map(String));
  const withUnknownKeys = new Set(issues.filter((i) => i.code === 'unrecognized_keys').map((i) => key(i.path)));
  const isMissing = (i: z.core.$ZodIssue) =>
    (i.code === 'invalid_type' || i.code === 'invalid_union') && i.input === undefined;
  const kept = issues.filter((i) => !(isMissing(i) && withUnknownKeys.has(key(i.path.slice(0, -1)))));
  return kept.length > 0 ? kept : issues;
}
