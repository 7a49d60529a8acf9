// Parsing what the guest prints (oracle/guest/runtime.c and init.sh) into Observations.
import type { EntryObs, Observation, PageObs } from './observe.js';

export interface FileLayout {
  file: number;
  ino: number;
  /** [logical, physical, length, flags] in bytes, as FIEMAP reports them. */
  extents: [number, number, number, number][];
}

export interface KernelRun {
  obs: Observation;
  layout: FileLayout[];
  /** The run reached its end line. */
  complete: boolean;
}

/** Split a console log into the lines of each scenario program, by id. */
export function splitConsole(log: string): { runs: Map<string, unknown[]>; guest: string[] } {
  const runs = new Map<string, unknown[]>();
  const guest: string[] = [];
  for (const raw of log.split(/\r?\n/)) {
    const g = /DAXREF-GUEST (.*)$/.exec(raw);
    if (g) guest.push(g[1].trim());
    const m = /DAXREF (\S+) (\{.*\})\s*$/.exec(raw);
    if (!m) continue;
    let v: unknown;
    try {
      v = JSON.parse(m[2]);
    } catch {
      v = { t: 'garbled', text: m[2] };
    }
    if (!runs.has(m[1])) runs.set(m[1], []);
    runs.get(m[1])!.push(v);
  }
  return { runs, guest };
}

/** `pfn=48044 ref=1 map=0 pin=-1 order=0 pgmap=fsdax mapping=ino:12` -> PageObs; inodes name the files. */
export function parsePageLine(line: string, fileOfIno: Map<number, string>): PageObs | null {
  const f = Object.fromEntries([...line.matchAll(/(\w+)=(\S+)/g)].map((m) => [m[1], m[2]]));
  if (f.ref === undefined) return null;
  const mp = f.mapping ?? 'null';
  let mapping: string | null;
  if (mp === 'null') mapping = null;
  else if (mp === 'tag:1') mapping = 'DAX_SHARED';
  else if (mp.startsWith('ino:')) mapping = fileOfIno.get(Number(mp.slice(4))) ?? `?${mp}`;
  else mapping = `?${mp}`;
  return { refcount: Number(f.ref), mapcount: Number(f.map), pincount: Number(f.pin), order: Number(f.order), mapping };
}

type Line = Record<string, unknown> & { t: string };

/** The Observation of one scenario program's output. */
export function parseKernelRun(lines: unknown[], threads: string[], files: string[]): KernelRun {
  const obs: Observation = { entries: [], steps: new Map(), pages: [], unfinished: [], problems: [], warns: [] };
  const layout: FileLayout[] = [];
  const fileOfIno = new Map<number, string>();
  let complete = false;
  for (const x of lines as Line[]) {
    switch (x.t) {
      case 'layout': {
        const l = x as unknown as FileLayout;
        layout.push(l);
        fileOfIno.set(l.ino, files[l.file]);
        break;
      }
      case 'pages': {
        const e = x.entry as number;
        obs.pages[e + 1] = (x.pages as string[]).map((p) => parsePageLine(p, fileOfIno));
        break;
      }
      case 'entry':
        obs.entries.push({ entry: x.entry as number, thread: threads[x.thread as number], kind: x.kind as EntryObs['kind'], step: x.step as number });
        break;
      case 'step':
        obs.steps.set(x.step as number, { step: x.step as number, entry: x.entry as number, blocked: !!x.blocked, error: x.err as string });
        break;
      case 'unfinished':
        obs.unfinished.push(x.step as number);
        break;
      case 'kwarn': {
        // until 6.18: "WARNING: CPU: 1 PID: 189 at fs/dax.c:390 dax_disassociate_entry+0x86/0xb0"
        // later kernels: "WARNING: fs/dax.c:390 at dax_disassociate_entry+0x86/0xb0, CPU#1: daxtest/189"
        const text = String(x.text);
        const fn = /\bat \S+:\d+ ([\w.]+)\+/.exec(text)?.[1] ?? /WARNING: \S+:\d+ at ([\w.]+)\+/.exec(text)?.[1] ?? (/blocked for more than/.test(text) ? 'hung task' : text.replace(/^\[[^\]]*\]\s*/, '').slice(0, 60));
        if (!obs.warns.includes(fn)) obs.warns.push(fn);
        break;
      }
      case 'end':
        complete = true;
        break;
      case 'timing':
      case 'error':
      case 'note':
        obs.problems.push(`${x.t}: ${x.message as string}`);
        break;
      case 'garbled':
        obs.problems.push(`garbled output line: ${String(x.text).slice(0, 80)}`);
        break;
      default:
        break;
    }
  }
  if (!complete) obs.problems.push('error: the program did not reach its end (crash or timeout)');
  return { obs, layout, complete };
}
