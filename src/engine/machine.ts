// The transition function shared by every engine: one atomic step of one
// thread, applied in place to a state. The simulator runs it along a
// schedule; the checker applies it to copies.
import type { Scenario } from '../scenario/types.js';
import { Kernel, type Words } from '../model/kernel.js';
import { buildLayout, initialState } from '../model/layout.js';
import { buildPrograms } from '../model/ops.js';
import { BLOCKED, NEXT, labelFor, type Action, type Program } from '../model/program.js';
import { type Layout, type State, P_ALIVE, S_DONE, S_SLEEPING, T_ERR, T_L0, T_OP, T_PC, T_STATUS, THREAD_LOCALS } from '../model/state.js';
import type { KernelConfig } from '../model/versions.js';

export type Outcome = 'blocked' | 'ran' | 'slept' | 'op-done';

export class Machine {
  readonly L: Layout;
  readonly programs: Program[][];
  /**
   * fuseLocal: run a local action and the thread's next one as one atomic step
   * (the default granularity). Off, every action is a step of its own: the
   * checker's --no-por explores that full interleaving space.
   * fuseMovers (the checker, with partial-order reduction): a lock acquisition
   * in the middle of an operation (Action.acquire) runs with the thread's next
   * action too. An acquisition is a right mover (Lipton): whatever another
   * thread does after it, it could have done before it, with the same effect
   * (a guard on the lock's own word, which only other acquisitions read, and
   * they would be blocked; the invariants read no lock word), so no reachable
   * state, WARN or deadlock is lost, only the states between the two actions.
   * At an operation's first action it is not a mover: entering the call is
   * visible (heldOpen reads whether a thread is inside one).
   */
  constructor(
    readonly scenario: Scenario,
    readonly cfg: KernelConfig,
    readonly fuseLocal = true,
    readonly fuseMovers = false,
  ) {
    this.L = buildLayout(scenario);
    this.programs = labelFor(buildPrograms(scenario, this.L), cfg);
  }

  initial(): State {
    const s = initialState(this.L, this.cfg);
    for (const t of this.L.threads) if (this.programs[t.id].length === 0) s.m[t.off + T_STATUS] = S_DONE;
    return s;
  }

  kernel(s: State): Kernel {
    return new Kernel(s, this.cfg);
  }

  /** Could thread t run now (not finished, not asleep, its process exists)? Its next action may still be blocked. */
  ready(m: Words, t: number): boolean {
    const T = this.L.threads[t];
    const st = m[T.off + T_STATUS];
    if (st === S_DONE || st === S_SLEEPING) return false;
    // 0: not forked yet; an exit marks the process's other threads done, and the exiting one finishes its step
    return m[this.L.processes[T.process].off + P_ALIVE] !== 0;
  }

  /** The action thread t runs next. */
  action(m: Words, t: number) {
    const o = this.L.threads[t].off;
    return this.programs[t][m[o + T_OP]].actions[m[o + T_PC]];
  }

  /** The last action step() ran (the one that names the atomic step in a trace). */
  lastAction: Action | null = null;
  /** How many acquisitions the last step ran on past (fuseMovers): it is that many more steps at the simulator's granularity. */
  moved = 0;

  /**
   * Run one atomic step of thread t on k.m: its next action, and the ones after
   * it while the action just run was local (Action.local: no other thread can
   * tell the difference). 'blocked' leaves the state untouched. k.log holds
   * the step's writes afterwards (k.undo() reverts them).
   */
  step(k: Kernel, t: number): Outcome {
    const m = k.m;
    k.logN = 0;
    if (!this.ready(m, t)) return 'blocked';
    const o = this.L.threads[t].off;
    let ran = false;
    let mover = false; // the action just run was an acquisition fused with this one
    this.moved = 0;
    for (;;) {
      const op = m[o + T_OP];
      const pc = m[o + T_PC];
      const prog = this.programs[t][op];
      const err = m[o + T_ERR];
      if (pc === 0) k.set(o + T_ERR, 0);
      const act = prog.actions[pc];
      const r = act.run(k, t);
      if (r === BLOCKED) {
        k.set(o + T_ERR, err); // a blocked action changes nothing
        return ran ? 'ran' : 'blocked';
      }
      ran = true;
      if (mover) this.moved++;
      this.lastAction = act;
      const next = r === undefined || r === NEXT ? pc + 1 : r;
      if (m[o + T_STATUS] === S_SLEEPING) {
        k.set(o + T_PC, next);
        return 'slept';
      }
      if (next >= prog.actions.length) {
        k.set(o + T_OP, op + 1);
        k.set(o + T_PC, 0);
        for (let i = 0; i < THREAD_LOCALS; i++) k.set(o + T_L0 + i, 0);
        if (op + 1 >= this.programs[t].length) k.set(o + T_STATUS, S_DONE);
        return 'op-done';
      }
      k.set(o + T_PC, next);
      if (!this.fuseLocal) return 'ran';
      mover = !act.local && this.fuseMovers && !!act.acquire && pc !== 0;
      if (!act.local && !mover) return 'ran';
    }
  }
}
