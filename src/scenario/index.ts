// Public API of the scenario front end.
export * from './types.js';
export { ScenarioError } from './errors.js';
export { parseScenario, loadScenarioFile } from './parse.js';
export { scenarioJsonSchema, scenarioJsonSchemaText } from './json-schema.js';
export { parseSize, parseAddress, parsePageRef, formatSize, PAGE_SIZE } from './values.js';
