// The library: what `import ... from 'daxref'` gives.
export { check, type CheckOptions, type CheckResult, type Progress } from './engine/check/index.js';
export { simulate, type SimOptions, type SimResult } from './engine/simulate.js';
export { loadScenarioFile, parseScenario, ScenarioError } from './scenario/index.js';
export type { Scenario } from './scenario/types.js';
export { KERNELS, FIXES, kernelConfig, type KernelConfig } from './model/versions.js';
export { INVARIANTS } from './model/invariants.js';
export { toTrace } from './trace/itf.js';
// for variants (CheckOptions.variant): the kernel context and the helpers an override needs
export type { KernelOverrides } from './model/versions.js';
export type { Kernel } from './model/kernel.js';
export { folio_mapcount } from './model/kernel/mm/rmap.js';
export { folio_ref_count, folioOf } from './model/kernel/mm/swap.js';
