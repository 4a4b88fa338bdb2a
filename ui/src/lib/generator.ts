// Presentation helpers for the config generator: grouping, default selection, octal modes and diff
// lines. Nothing here derives a value Kovan writes; the plan from core is shown as it came.
import type { FileStatus } from './bindings/FileStatus';
import type { PlannedFile } from './bindings/PlannedFile';
import type { Purpose } from './bindings/Purpose';

/** The order the groups are listed in. */
export const PURPOSES: readonly Purpose[] = ['envFile', 'settings', 'djangoApp', 'nginx', 'procfile'];

export interface FileGroup {
  purpose: Purpose;
  files: PlannedFile[];
}

/** The files grouped by purpose, groups in PURPOSES order, files in plan order; empty groups left out. */
export function groupByPurpose(files: readonly PlannedFile[]): FileGroup[] {
  return PURPOSES.map((purpose) => ({ purpose, files: files.filter((f) => f.purpose === purpose) })).filter(
    (group) => group.files.length > 0,
  );
}

/** Whether writing the file would change anything on disk: its contents or its mode. */
export function isPending(file: PlannedFile): boolean {
  return file.status !== 'unchanged' || file.diskMode !== null;
}

/** The paths selected when the plan is first shown: every file writing would change. */
export function defaultSelection(files: readonly PlannedFile[]): string[] {
  return files.filter(isPending).map((f) => f.path);
}

/** Unix permission bits as the four-digit octal people type into chmod: 384 -> "0600". */
export function octal(mode: number): string {
  return `0${(mode & 0o7777).toString(8).padStart(3, '0')}`;
}

export type StatusCounts = Record<FileStatus, number> & { modeOnly: number };

/** How many files have each status, and how many differ from disk only in their mode. */
export function countStatuses(files: readonly PlannedFile[]): StatusCounts {
  const counts: StatusCounts = { new: 0, unchanged: 0, changed: 0, edited: 0, modeOnly: 0 };
  for (const file of files) {
    counts[file.status] += 1;
    if (file.status === 'unchanged' && file.diskMode !== null) counts.modeOnly += 1;
  }
  return counts;
}

export type DiffKind = 'header' | 'hunk' | 'add' | 'del' | 'context' | 'meta';

export interface DiffLine {
  kind: DiffKind;
  text: string;
  /** Line number in the file on disk, for removed and context lines. */
  oldLine: number | null;
  /** Line number in the file Kovan writes, for added and context lines. */
  newLine: number | null;
}

const HUNK = /^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@/;

/** The lines of a unified diff, each with its kind and line numbers. `---`/`+++` count as file
 * headers only before the first hunk: inside one, `--- x` is a removed line that reads `-- x`. */
export function parseDiff(diff: string): DiffLine[] {
  const lines = diff.split('\n');
  if (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const out: DiffLine[] = [];
  let inHunk = false;
  let oldLine = 0;
  let newLine = 0;
  for (const raw of lines) {
    const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (text.startsWith('@@')) {
      const match = HUNK.exec(text);
      if (match) {
        oldLine = Number(match[1]);
        newLine = Number(match[2]);
      }
      inHunk = true;
      out.push({ kind: 'hunk', text, oldLine: null, newLine: null });
    } else if (!inHunk && (text.startsWith('---') || text.startsWith('+++'))) {
      out.push({ kind: 'header', text, oldLine: null, newLine: null });
    } else if (text.startsWith('+')) {
      out.push({ kind: 'add', text, oldLine: null, newLine: newLine++ });
    } else if (text.startsWith('-')) {
      out.push({ kind: 'del', text, oldLine: oldLine++, newLine: null });
    } else if (text.startsWith('\\')) {
      out.push({ kind: 'meta', text, oldLine: null, newLine: null });
    } else {
      out.push({ kind: 'context', text, oldLine: oldLine++, newLine: newLine++ });
    }
  }
  return out;
}

/** A file's text split into lines for display, without the empty one after a final newline. */
export function textLines(text: string): string[] {
  const lines = text.split('\n');
  if (lines.length > 1 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}
