// Kernel paths as small programs of labelled atomic actions (PlusCal style).
//
// An operation (a page fault, truncate, ...) is split where the kernel can be
// interleaved: at lock acquisitions, waits and wake-ups. Each action runs
// atomically and returns where the thread goes next. The program counter and
// the locals live in the thread's state words, so a thread can be stopped
// between any two actions, copied, and resumed.

import type { Kernel } from './kernel.js';
import type { KernelConfig } from './versions.js';
import { T_STATUS, T_KEY, T_L0, THREAD_LOCALS, S_SLEEPING, T_ERR } from './state.js';
import { queueExclusive } from './kernel/kernel/wait_bit.js';

/** Returned by an action whose guard is false: nothing changed, the thread is not enabled. */
export const BLOCKED = -1;
/** Go on with the next action. */
export const NEXT = -2;

export type Run = (k: Kernel, t: number) => number | void;

export interface Action {
  fn: string; // kernel function this step belongs to
  what: string; // what the step does, in a few words
  run: Run;
  /**
   * Touches only what no other thread reads or writes (the thread's own locals,
   * or a word only this thread ever sets): not an interleaving point, so the
   * engines run the thread's next action in the same atomic step.
   */
  local?: boolean;
  /**
   * Only takes a sleeping lock (an rwsem as a guard on its own word, plus the
   * thread's own locals): a right mover (Lipton), so the checker runs the
   * thread's next action in the same step (Machine's fuseMovers).
   */
  acquire?: boolean;
  /** The step's name on kernels where the code it models has another shape (the first that applies). */
  alt?: AltLabel[];
}

/** Another name for an action where `when` holds (v6.12's functions, say, before the series renamed them). */
export interface AltLabel {
  when: (cfg: KernelConfig) => boolean;
  fn: string;
  what: string;
}

/** On the old refcount scheme (v6.12 and its backports): the series' new functions do not exist there. */
export const onOldScheme = (cfg: KernelConfig) => cfg.scheme === 'old';

export class Label {
  pc = -1;
}

export class Program {
  constructor(
    readonly name: string,
    readonly actions: Action[],
  ) {}
}

/** Builds a program; helpers for kernel paths emit their steps into it. */
export class Builder {
  readonly actions: Action[] = [];
  private nlocals = 0;
  readonly end = new Label();
  /** The filesystem of the file this step works on: it decides which fs functions name the steps. */
  fs: 'xfs' | 'ext4' = 'xfs';

  constructor(readonly name: string) {}

  /** A name (or a step's [function, what]) on this step's filesystem: XFS's or ext4's. */
  byFs<T extends string | [string, string]>(xfs: T, ext4: T): T {
    return this.fs === 'ext4' ? ext4 : xfs;
  }

  /** Append one atomic action. `run` returns a pc (via Label.pc), NEXT/undefined, or BLOCKED; `alt` names it on other kernels. */
  step(fn: string, what: string, run: Run, ...alt: AltLabel[]): void {
    this.actions.push(alt.length ? { fn, what, run, alt } : { fn, what, run });
  }

  /** Append an action that no other thread can observe (see Action.local). */
  localStep(fn: string, what: string, run: Run, ...alt: AltLabel[]): void {
    this.actions.push(alt.length ? { fn, what, run, local: true, alt } : { fn, what, run, local: true });
  }

  /** Append an action that only takes a sleeping lock (see Action.acquire). */
  acquireStep(fn: string, what: string, run: Run, ...alt: AltLabel[]): void {
    this.actions.push(alt.length ? { fn, what, run, acquire: true, alt } : { fn, what, run, acquire: true });
  }

  /** Place a label at the next action. */
  mark(l: Label): Label {
    l.pc = this.actions.length;
    return l;
  }
  here(): Label {
    return this.mark(new Label());
  }

  /** A thread-local variable slot for this program (state word index of thread t: thread off + T_L0 + i). */
  local(): number {
    if (this.nlocals >= THREAD_LOCALS) throw new Error(`program ${this.name}: more than ${THREAD_LOCALS} locals`);
    return T_L0 + this.nlocals++;
  }

  /**
   * Emit a phase whose locals are dead once it is left (each of its steps
   * initialises what it reads): later phases reuse their slots.
   */
  scope(emit: () => void): void {
    const n = this.nlocals;
    emit();
    this.nlocals = n;
  }

  /**
   * Place `end` here rather than after the last step: the steps emitted after
   * it are the operation's epilogue, which every exit path (a failure included) runs.
   */
  markEnd(): void {
    this.mark(this.end);
  }

  build(): Program {
    if (this.end.pc < 0) this.mark(this.end);
    return new Program(this.name, this.actions);
  }
}

/** The programs with each action named as the configured kernel names it (Action.alt). */
export function labelFor(programs: Program[][], cfg: KernelConfig): Program[][] {
  return programs.map((ps) =>
    ps.map((p) => {
      if (!p.actions.some((a) => a.alt)) return p;
      return new Program(p.name, p.actions.map((a) => {
        const l = a.alt?.find((x) => x.when(cfg));
        return l ? { ...a, fn: l.fn, what: l.what } : a;
      }));
    }),
  );
}

/** Put thread t to sleep on `key`; it resumes at `resume` once woken. */
export function sleepOn(k: Kernel, t: number, key: number, resume: Label): number {
  const o = k.L.threads[t].off;
  queueExclusive(k, t, key);
  k.set(o + T_STATUS, S_SLEEPING);
  k.set(o + T_KEY, key);
  return resume.pc;
}

/** Finish the operation with an errno (0 = success) and jump to `to` (cleanup) or the end. */
export function fail(k: Kernel, t: number, errno: number, to: Label): number {
  k.set(k.L.threads[t].off + T_ERR, errno);
  return to.pc;
}

