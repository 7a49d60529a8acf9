// One way out for bad input: a located message on stderr, exit 2, no stack trace; and one for bugs: exit 70.
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
  // Anything else is a bug in daxref: say so, with a code of its own (EX_SOFTWARE), not 1 (a
  // violation or a failed expectation); the stack trace only on request.
  const detail = e instanceof Error ? (process.env.DAXREF_DEBUG ? (e.stack ?? e.message) : e.message) : String(e);
  process.stderr.write(`daxref: internal error (a bug in daxref; please report it with the scenario): ${detail}${process.env.DAXREF_DEBUG ? '' : ' (DAXREF_DEBUG=1 shows the stack)'}\n`);
  process.exit(70);
}

export const collect = (v: string, prev: string[]) => [...prev, v];
