// The log drawer's memory and search, apart from the DOM so they can be tested alone.
import type { LogLine } from './api';

/** The most lines the window keeps per open drawer (core's ring holds as many). */
export const MAX_LINES = 5000;

/** `lines` followed by `batch`, keeping only the newest `max`. Always a new array. */
export function appendCapped(lines: readonly LogLine[], batch: readonly LogLine[], max = MAX_LINES): LogLine[] {
  if (batch.length >= max) return batch.slice(batch.length - max);
  const keep = Math.max(0, lines.length + batch.length - max);
  return keep === 0 ? lines.concat(batch) : lines.slice(keep).concat(batch);
}

/**
 * Lines arrive in batches (up to 2000 every ~100 ms) and are drawn at most once per frame: `push`
 * queues a batch and asks for one flush; `flush` hands everything queued to the view. The queue is
 * capped too, so a hidden window (no animation frames) still holds at most MAX_LINES waiting lines.
 */
export class LogBatcher {
  #queued: LogLine[] = [];
  #scheduled = false;
  #closed = false;
  readonly #deliver: (lines: LogLine[]) => void;
  readonly #max: number;
  readonly #schedule: (run: () => void) => void;

  constructor(deliver: (lines: LogLine[]) => void, max = MAX_LINES, schedule: (run: () => void) => void = nextFrame) {
    this.#deliver = deliver;
    this.#max = max;
    this.#schedule = schedule;
  }

  push(batch: readonly LogLine[]): void {
    if (this.#closed || batch.length === 0) return;
    this.#queued = appendCapped(this.#queued, batch, this.#max);
    if (this.#scheduled) return;
    this.#scheduled = true;
    this.#schedule(() => this.flush());
  }

  flush(): void {
    this.#scheduled = false;
    if (this.#closed || this.#queued.length === 0) return;
    const lines = this.#queued;
    this.#queued = [];
    this.#deliver(lines);
  }

  /** Drop what is queued and everything that still comes. */
  close(): void {
    this.#closed = true;
    this.#queued = [];
  }
}

function nextFrame(run: () => void): void {
  if (typeof requestAnimationFrame === 'function') requestAnimationFrame(() => run());
  else setTimeout(run, 16);
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** A case-insensitive matcher for the search box's text; null when the box is empty. */
export function searchPattern(query: string): RegExp | null {
  const needle = query.trim();
  return needle === '' ? null : new RegExp(escapeRegExp(needle), 'i');
}

/** The lines that match, or all of them without a pattern. */
export function filterLines(lines: LogLine[], pattern: RegExp | null): LogLine[] {
  if (pattern === null) return lines;
  return lines.filter((line) => pattern.test(line.text));
}

export interface Segment {
  text: string;
  match: boolean;
}

/** `text` cut into plain and matching pieces, for highlighting. */
export function highlight(text: string, pattern: RegExp | null): Segment[] {
  if (pattern === null) return [{ text, match: false }];
  const global = new RegExp(pattern.source, 'gi');
  const segments: Segment[] = [];
  let last = 0;
  for (const found of text.matchAll(global)) {
    const at = found.index ?? 0;
    if (found[0] === '') break;
    if (at > last) segments.push({ text: text.slice(last, at), match: false });
    segments.push({ text: found[0], match: true });
    last = at + found[0].length;
  }
  if (last < text.length || segments.length === 0) segments.push({ text: text.slice(last), match: false });
  return segments;
}

/** Index of the first line whose seq is >= `seq` (lines are in seq order). */
export function indexOfSeq(lines: readonly LogLine[], seq: number): number {
  let lo = 0;
  let hi = lines.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (lines[mid].seq < seq) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
