// Entry points: text or file -> validated, typed Scenario.

import { readFileSync } from 'node:fs';
import { buildScenario } from './build.js';
import { checkScenario } from './check.js';
import { ScenarioError } from './errors.js';
import { YamlSource } from './source.js';
import type { Scenario } from './types.js';
import { validateStructure } from './validate.js';

/** Parse a YAML (or JSON) scenario. Throws ScenarioError, located at the
 * offending node, for anything malformed. */
export function parseScenario(text: string, fileName: string): Scenario {
  const src = new YamlSource(text, fileName);
  const built = buildScenario(validateStructure(src), src);
  checkScenario(built, src);
  return built.scenario;
}

export function loadScenarioFile(path: string): Scenario {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    const why = (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message;
    throw new ScenarioError(path, 1, 1, `cannot read scenario file (${why})`);
  }
  return parseScenario(text, path);
}
