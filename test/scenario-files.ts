// The bundled scenario files the tests walk over.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';

/** scenarios/ of the checkout (this file compiles to dist/test/). */
export const scenariosDir = join(import.meta.dirname, '..', '..', 'scenarios');

/** The .yaml files of these folders of scenarios/ ('' is scenarios/ itself), as paths, folder by folder. */
export function scenarioFiles(...dirs: string[]): string[] {
  return dirs.flatMap((d) => readdirSync(join(scenariosDir, d)).filter((f) => f.endsWith('.yaml')).map((f) => join(scenariosDir, d, f)));
}
