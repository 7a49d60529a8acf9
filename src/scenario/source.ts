// The parsed YAML document plus a way back from a data path (as zod reports
// it, e.g. ['threads', 0, 'steps', 2, 'mmap', 'len']) to a line and column.

import {
  isAlias, isMap, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type Node, type Pair,
} from 'yaml';
import { ScenarioError } from './errors.js';
import type { SourcePos } from './types.js';

export type Path = readonly (string | number)[];

export class YamlSource {
  /** The document as plain JS (maps as objects, sequences as arrays). */
  readonly data: unknown;
  private readonly doc: Document.Parsed;
  private readonly lines = new LineCounter();

  constructor(text: string, readonly file: string) {
    // prettyErrors off: we want the bare message and do our own positioning.
    this.doc = parseDocument(text, { lineCounter: this.lines, prettyErrors: false, uniqueKeys: true });
    const err = this.doc.errors[0];
    if (err) {
      const firstLine = err.message.split('\n')[0].replace(/\s+at line \d+, column \d+:?$/, '');
      throw this.error(err.pos[0], `YAML syntax error: ${firstLine}`);
    }
    try {
      this.data = this.doc.toJS({ maxAliasCount: 1000 });
    } catch (e) {
      // Only alias trouble gets here (unresolved or exponential aliases).
      let offset = 0;
      visit(this.doc, {
        Alias: (_, node) => {
          if (node.resolve(this.doc)) return undefined;
          offset = node.range?.[0] ?? 0;
          return visit.BREAK;
        },
      });
      throw this.error(offset, `YAML error: ${(e as Error).message.split('\n')[0]}`);
    }
  }

  /**
   * Position of the node at `path`: its value, or with target 'key' the key
   * of the last segment. A path that does not exist in the source (a missing
   * field) resolves to its nearest existing ancestor.
   */
  pos(path: Path, target: 'value' | 'key' = 'value'): SourcePos {
    let node: Node | null | undefined = this.doc.contents;
    let offset = node?.range?.[0] ?? 0;
    for (let i = 0; i < path.length; i++) {
      const seg = path[i];
      if (isAlias(node)) node = node.resolve(this.doc);
      let next: Node | null | undefined;
      let keyOffset: number | undefined;
      if (isMap(node)) {
        const pair: Pair | undefined = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(seg));
        const key = pair?.key as Node | null | undefined;
        keyOffset = key?.range?.[0];
        // A key with no value (`exit:`) has a value node without a useful range.
        next = (pair?.value as Node | null | undefined)?.range ? (pair!.value as Node) : key;
      } else if (isSeq(node) && typeof seg === 'number') {
        next = node.items[seg] as Node | undefined;
      }
      if (!next?.range) break;
      const wantKey = target === 'key' && i === path.length - 1 && keyOffset !== undefined;
      offset = wantKey ? keyOffset! : next.range[0];
      node = next;
    }
    const { line, col } = this.lines.linePos(offset);
    return { file: this.file, line, col };
  }

  /** Throw a ScenarioError located at `path`. */
  fail(path: Path, msg: string, target: 'value' | 'key' = 'value'): never {
    throw ScenarioError.at(this.pos(path, target), msg);
  }

  private error(offset: number, msg: string): ScenarioError {
    const { line, col } = this.lines.linePos(offset);
    return new ScenarioError(this.file, line, col, msg);
  }
}
