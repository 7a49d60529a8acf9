// Plain-English wording for zod's generic issues, and where each issue points.
// Schema-specific messages (sizes, names, unknown keys) are set in schema.ts;
// this map only words what is left.

import type { z } from 'zod';
import type { Path } from './source.js';
import { describeValue } from './values.js';

const TYPE_NAMES: Record<string, string> = {
  object: 'a mapping', array: 'a list', string: 'a string', boolean: 'true or false',
  number: 'a number', int: 'an integer', null: 'null',
};

/** How to name the value at `path` in a message. */
function subject(path: Path): string {
  const last = path[path.length - 1];
  if (last === undefined) return 'the scenario';
  if (typeof last === 'number') {
    const parent = path[path.length - 2];
    return parent === undefined ? 'each entry' : `each entry of '${String(parent)}'`;
  }
  return `'${last}'`;
}

/** Per-parse zod error map. */
export const plainEnglish: z.core.$ZodErrorMap = (iss) => {
  const path = iss.path ?? [];
  const what = subject(path as Path);
  const last = path[path.length - 1];
  if (iss.input === undefined && (iss.code === 'invalid_type' || iss.code === 'invalid_union')) {
    return typeof last === 'string' ? `missing required field '${last}'` : `${what} is missing`;
  }
  switch (iss.code) {
    case 'invalid_type':
      if (path.length === 0) {
        return iss.input === null
          ? 'the scenario is empty'
          : `the scenario must be a mapping with name, devices, files, threads and expect, got ${describeValue(iss.input)}`;
      }
      return `${what} must be ${TYPE_NAMES[iss.expected] ?? iss.expected}, got ${describeValue(iss.input)}`;
    case 'invalid_value':
      return iss.values.length === 1
        ? `${what} must be '${String(iss.values[0])}', got ${describeValue(iss.input)}`
        : `${what} must be one of ${iss.values.join(', ')}, got ${describeValue(iss.input)}`;
    case 'too_small':
      if (iss.origin === 'array' || iss.origin === 'string') return `${what} must not be empty`;
      return `${what} must be at least ${String(iss.minimum)}, got ${describeValue(iss.input)}`;
    default:
      return `${what} is not valid`;
  }
};

/** Where a finished issue should point: the path, and whether at the key. */
export function issueTarget(iss: z.core.$ZodIssue): { path: Path; target: 'key' | 'value' } {
  if (iss.code === 'unrecognized_keys') return { path: [...iss.path, iss.keys[0]] as Path, target: 'key' };
  if (iss.code === 'custom' && iss.params?.target === 'key') return { path: iss.path as Path, target: 'key' };
  return { path: iss.path as Path, target: 'value' };
}
