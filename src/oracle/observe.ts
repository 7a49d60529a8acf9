// What one run of a scenario shows, in the same shape for the model's prediction and for
// the real kernel's readings, so the two can be compared entry by entry.

/** One entry of the run: a schedule slot (then the round-robin tail), as runtime.c numbers them. */
export interface EntryObs {
  entry: number;
  thread: string;
  /** start: the thread's next step began; wait: its blocked step was waited for; resumed: that
   * step had already finished (released earlier); idle: the thread had nothing left. */
  kind: 'start' | 'wait' | 'resumed' | 'idle';
  /** Global step index (threads' steps in file order), -1 for none. */
  step: number;
}

export interface StepObs {
  step: number;
  /** Entry during which the step finished. */
  entry: number;
  /** It did not finish within the entry that started it. */
  blocked: boolean;
  error: string;
}

export interface PageObs {
  refcount: number;
  mapcount: number;
  /** -1 when the folio has no _pincount (order 0). */
  pincount: number;
  order: number;
  /** File name, null, DAX_SHARED, or `?...` when the kernel's mapping names no scenario file. */
  mapping: string | null;
}

export interface Observation {
  entries: EntryObs[];
  /** Finished steps, by global index. */
  steps: Map<number, StepObs>;
  /** pages[e + 1][i]: page i after entry e; pages[0]: before the first entry. null: no page known. */
  pages: (PageObs | null)[][];
  /** Steps still blocked at the end. */
  unfinished: number[];
  /** Kernel functions that fired a WARN (model: its WARN_ON mirrors; kernel: dmesg). */
  warns: string[];
  /** Things that make the kernel run doubtful (timing, errors of the harness). */
  problems: string[];
}

/** The global step index of every (thread, step) and its label `thread.n op`. */
export function stepLabels(scn: { threads: { name: string; steps: { op: string }[] }[] }): string[] {
  return scn.threads.flatMap((t) => t.steps.map((s, i) => `${t.name}.${i + 1} ${s.op}`));
}
