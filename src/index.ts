// The library: what `import ... from 'daxref'` gives.
export { check, type CheckOptions, type CheckResult, type Progress } from './engine/check/index.js';
export { simulate, type SimOptions, type SimResult } from './engine/simulate.js';
export { loadScenarioFile, parseScenario, ScenarioError } from './scenario/index.js';
export type { Scenario } from './scenario/types.js';
export { KERNELS, FIXES, kernelConfig, type KernelConfig } from './model/versions.js';
export { INVARIANTS } from './model/invariants.js';
export { toTrace } from './trace/itf.js';
