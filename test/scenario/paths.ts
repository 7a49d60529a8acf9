// Tests run from dist/test/scenario/; fixtures and the schema stay in the source tree.
import { fileURLToPath } from 'node:url';

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
export const badFixtures = fileURLToPath(new URL('../../../test/fixtures/bad/', import.meta.url));
export const schemaFile = fileURLToPath(new URL('../../../schema/scenario.schema.json', import.meta.url));
