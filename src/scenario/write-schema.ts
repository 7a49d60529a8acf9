// `npm run schema`: regenerate schema/scenario.schema.json.

import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { scenarioJsonSchemaText } from './json-schema.js';

// Compiled to dist/src/scenario/, three levels below the package root.
const target = fileURLToPath(new URL('../../../schema/scenario.schema.json', import.meta.url));
mkdirSync(dirname(target), { recursive: true });
writeFileSync(target, scenarioJsonSchemaText());
console.log(`wrote ${target}`);
