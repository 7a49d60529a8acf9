// Raw (zod output) -> typed Scenario: attach source positions, flatten steps
// to `{ op, pos, ...fields }` and fill defaults that depend on other fields.
// Also records each object's data path, so check.ts can point at its fields.

import type { RawExpect, RawScenario, RawStep } from './schema.js';
import type { Path, YamlSource } from './source.js';
import type {
  Device, Expect, ExpectField, FileSpec, Scenario, Step, ThreadSpec,
} from './types.js';
import { roundUpToPage } from './values.js';

export interface Built {
  scenario: Scenario;
  /** Data path of every device, file, thread, step, expect and schedule entry. */
  pathOf: WeakMap<object, Path>;
}

const DEFAULT_DEVDAX_ALIGN = 2 * 1024 * 1024;

export function buildScenario(raw: RawScenario, src: YamlSource): Built {
  const pathOf = new WeakMap<object, Path>();
  const track = <T extends object>(obj: T, path: Path): T => {
    pathOf.set(obj, path);
    return obj;
  };

  const devices = raw.devices.map((d, i): Device => {
    const path = ['devices', i];
    const dev: Device = { ...d, pos: src.pos(path) };
    if (dev.type === 'devdax') dev.align ??= DEFAULT_DEVDAX_ALIGN;
    else if (dev.type === 'fsdax') dev.fs ??= 'xfs';
    return track(dev, path);
  });

  const files = raw.files.map((f, i): FileSpec => track({ ...f, pos: src.pos(['files', i]) }, ['files', i]));

  const threads = raw.threads.map((t, ti): ThreadSpec => {
    const path = ['threads', ti];
    const steps = t.steps.map((s, si) => {
      const stepPath = [...path, 'steps', si];
      return track(buildStep(s, src.pos(stepPath)), stepPath);
    });
    return track({ name: t.name, process: t.process ?? t.name, steps, pos: src.pos(path) }, path);
  });

  const schedule = raw.schedule?.map((entry, i) => {
    const [, thread, n, fn] = /^([^:@]+)(?::(\d+)|@(.+))?$/.exec(entry)!;
    return track({ thread, ...(n && { steps: Number(n) }), ...(fn && { until: fn }), pos: src.pos(['schedule', i]) }, ['schedule', i]);
  });

  const expect = raw.expect.map((e, i) => track(buildExpect(e, ['expect', i], src), ['expect', i]));

  const scenario: Scenario = {
    name: raw.name,
    ...(raw.description !== undefined && { description: raw.description }),
    ...(raw.kernel !== undefined && { kernel: raw.kernel, kernelPos: src.pos(['kernel']) }),
    source: src.file,
    devices,
    files,
    threads,
    ...(schedule && { schedule }),
    expect,
  };
  return { scenario, pathOf };
}

function buildStep(raw: RawStep, pos: Step['pos']): Step {
  const body = raw[raw.op] as Record<string, unknown>;
  const step = { op: raw.op, pos, ...(raw.label !== undefined && { label: raw.label }), ...body } as Step;
  // The kernel rounds mmap/munmap/madvise lengths up to whole pages.
  if (step.op === 'mmap' || step.op === 'munmap' || step.op === 'madvise') step.len = roundUpToPage(step.len);
  if (step.op === 'reflink') step.dst_offset ??= step.offset;
  return step;
}

function buildExpect(raw: RawExpect, path: Path, src: YamlSource): Expect {
  const { after, at, ...checks } = raw;
  if ((after === undefined) === (at === undefined)) {
    if (after === undefined) src.fail(path, "expect entry needs 'after: THREAD.N' or 'at: end'");
    src.fail([...path, 'at'], "expect entry has both 'after' and 'at'; use one", 'key');
  }
  const fieldPos: Expect['fieldPos'] = {};
  for (const key of Object.keys(raw) as ExpectField[]) fieldPos[key] = src.pos([...path, key]);
  return {
    point: after ? { kind: 'after', ...after } : { kind: 'end' },
    ...checks,
    pos: src.pos(path),
    fieldPos,
  };
}
