// One way out for bad input: a located message on stderr, exit 2, no stack trace.
import { ScenarioError } from '../scenario/index.js';
import { KernelConfigError } from '../model/versions.js';
import { LayoutError } from '../model/layout.js';
import { ReplayError } from '../engine/simulate.js';

/** A bad command-line argument. */
export class UsageError extends Error {}

export function fatal(e: unknown): never {
  if (e instanceof ScenarioError || e instanceof KernelConfigError || e instanceof LayoutError || e instanceof ReplayError || e instanceof UsageError) {
    process.stderr.write(`daxref: ${e.message}\n`);
    process.exit(2);
  }
  throw e;
}

export const collect = (v: string, prev: string[]) => [...prev, v];
