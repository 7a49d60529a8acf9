import type { SourcePos } from './types.js';

/** A located, one-line, user-facing error: `file:line:col: message`. */
export class ScenarioError extends Error {
  /** The message without the location prefix. */
  readonly detail: string;

  constructor(public file: string, public line: number, public col: number, msg: string) {
    super(`${file}:${line}:${col}: ${msg}`);
    this.name = 'ScenarioError';
    this.detail = msg;
  }

  static at(pos: SourcePos, msg: string): ScenarioError {
    return new ScenarioError(pos.file, pos.line, pos.col, msg);
  }

  override toString(): string {
    return this.message;
  }
}
