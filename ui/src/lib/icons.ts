// Every icon of the window, drawn once: Icon.svelte draws them by name. Most are drawn on a 16 px
// grid; the `-lg` ones on a 20 px grid, for the dialogs' and panels' headings. Stroked parts draw
// in the text's colour with no fill; parts without a stroke are filled with it.

/** A stroke width; `cap`/`join` round the line's ends or corners. */
interface Stroke {
  stroke?: number;
  cap?: true;
  join?: true;
}

export type IconPart =
  | ({ path: string } & Stroke)
  | ({ circle: readonly [cx: number, cy: number, r: number] } & Stroke)
  | ({ rect: readonly [x: number, y: number, width: number, height: number, rx: number] } & Stroke)
  | ({ ellipse: readonly [cx: number, cy: number, rx: number, ry: number] } & Stroke);

export interface IconShape {
  grid: 16 | 20;
  parts: readonly IconPart[];
}

const warningParts: readonly IconPart[] = [
  { path: 'M8 1.8 15 14H1z', stroke: 1.5, join: true },
  { path: 'M8 6.2v3.6', stroke: 1.6, cap: true },
  { circle: [8, 11.9, 0.9] },
];
const alertParts: readonly IconPart[] = [
  { path: 'M10 1.8 17.1 5.9v8.2L10 18.2 2.9 14.1V5.9z', stroke: 1.6, join: true },
  { path: 'M10 6.2v4.6', stroke: 1.8, cap: true },
  { circle: [10, 13.6, 1.05] },
];
const linesPath = 'M2.5 3.5h11M2.5 6.5h11M2.5 9.5h7M2.5 12.5h9';
const reloadPath = 'M13.5 8a5.5 5.5 0 1 1-1.6-3.9M13.5 2.5v3.2h-3.2';

export const ICONS = {
  /** Start (a triangle pointing right). */
  play: { grid: 16, parts: [{ path: 'M5 3.2v9.6L12.6 8z' }] },
  stop: { grid: 16, parts: [{ rect: [3.5, 3.5, 9, 9, 1.2] }] },
  /** The compact layout: a grid of small tiles. */
  tiles: {
    grid: 16,
    parts: [
      { rect: [1.5, 2, 3.6, 3.6, 0.8] },
      { rect: [6.2, 2, 3.6, 3.6, 0.8] },
      { rect: [10.9, 2, 3.6, 3.6, 0.8] },
      { rect: [1.5, 7.2, 3.6, 3.6, 0.8] },
      { rect: [6.2, 7.2, 3.6, 3.6, 0.8] },
      { rect: [10.9, 7.2, 3.6, 3.6, 0.8] },
      { rect: [1.5, 12.4, 3.6, 1.6, 0.6] },
      { rect: [6.2, 12.4, 3.6, 1.6, 0.6] },
    ],
  },
  /** The comfortable layout: two large cards. */
  panels: {
    grid: 16,
    parts: [
      { rect: [1.75, 2.25, 5.5, 11.5, 1.2], stroke: 1.5 },
      { rect: [8.75, 2.25, 5.5, 11.5, 1.2], stroke: 1.5 },
    ],
  },
  /** Restart and reload: an arrow going round. */
  reload: { grid: 16, parts: [{ path: reloadPath, stroke: 1.6, cap: true, join: true }] },
  /** A log: lines of text. */
  logs: { grid: 16, parts: [{ path: linesPath, stroke: 1.5, cap: true }] },
  /** A cache: a stack of discs. */
  database: {
    grid: 16,
    parts: [
      { ellipse: [8, 4, 5.5, 2], stroke: 1.3 },
      { path: 'M2.5 4v8c0 1.1 2.5 2 5.5 2s5.5-.9 5.5-2V4M2.5 8c0 1.1 2.5 2 5.5 2s5.5-.9 5.5-2', stroke: 1.3 },
    ],
  },
  folder: {
    grid: 16,
    parts: [
      { path: 'M1.8 4.2v8.3a1 1 0 0 0 1 1h10.4a1 1 0 0 0 1-1V6a1 1 0 0 0-1-1H8L6.5 3.2H2.8a1 1 0 0 0-1 1z', stroke: 1.4, join: true },
    ],
  },
  trash: {
    grid: 16,
    parts: [
      {
        path: 'M3 4.5h10M6.5 4.5V3h3v1.5M4.5 4.5l.6 8.6a1 1 0 0 0 1 .9h3.8a1 1 0 0 0 1-.9l.6-8.6',
        stroke: 1.4,
        cap: true,
        join: true,
      },
    ],
  },
  /** The isolation doctor. */
  stethoscope: {
    grid: 16,
    parts: [
      { path: 'M4 2v4a3 3 0 0 0 6 0V2M7 9v1.5a2.75 2.75 0 0 0 5.5 0V9', stroke: 1.4, cap: true },
      { circle: [12.5, 7.6, 1.3], stroke: 1.3 },
    ],
  },
  /** The config generator: a page with lines. */
  file: {
    grid: 16,
    parts: [
      {
        path: 'M9.5 1.8H4a1 1 0 0 0-1 1v10.4a1 1 0 0 0 1 1h8a1 1 0 0 0 1-1V5.3zM9.5 1.8v3.5H13M5.5 8.5h5M5.5 11h3.5',
        stroke: 1.4,
        cap: true,
        join: true,
      },
    ],
  },
  close: { grid: 16, parts: [{ path: 'M4 4l8 8M12 4l-8 8', stroke: 1.7, cap: true }] },
  download: { grid: 16, parts: [{ path: 'M8 2v8M4.8 6.8 8 10l3.2-3.2M2.5 11v2.5h11V11', stroke: 1.5, cap: true, join: true }] },
  search: {
    grid: 16,
    parts: [
      { circle: [7, 7, 4.5], stroke: 1.5 },
      { path: 'm10.4 10.4 3.3 3.3', stroke: 1.5, cap: true },
    ],
  },
  /** Follow the log: an arrow down to the last line. */
  follow: { grid: 16, parts: [{ path: 'M8 2.5v9M4 8l4 4 4-4M3.5 14h9', stroke: 1.6, cap: true, join: true }] },
  /** A desktop notification was sent for this. */
  bell: {
    grid: 16,
    parts: [{ path: 'M8 2a4 4 0 0 0-4 4v2.6L2.8 11h10.4L12 8.6V6a4 4 0 0 0-4-4zM6.5 12.8a1.6 1.6 0 0 0 3 0', stroke: 1.4, join: true }],
  },
  /** Holds secrets. */
  lock: {
    grid: 16,
    parts: [
      { rect: [3, 7, 10, 7.2, 1.5], stroke: 1.5 },
      { path: 'M5.3 7V5.2a2.7 2.7 0 0 1 5.4 0V7', stroke: 1.5 },
      { circle: [8, 10.6, 1] },
    ],
  },
  warning: { grid: 16, parts: warningParts },
  /** An error: a circled cross. */
  error: {
    grid: 16,
    parts: [
      { circle: [8, 8, 6.3], stroke: 1.5 },
      { path: 'M5.8 5.8l4.4 4.4M10.2 5.8l-4.4 4.4', stroke: 1.5, cap: true },
    ],
  },
  info: {
    grid: 16,
    parts: [
      { circle: [8, 8, 6.3], stroke: 1.5 },
      { path: 'M8 7.2v4M8 4.8v.2', stroke: 1.6, cap: true },
    ],
  },
  moon: { grid: 16, parts: [{ path: 'M13 9.5A5.5 5.5 0 0 1 6.5 3a5.5 5.5 0 1 0 6.5 6.5z' }] },
  sun: {
    grid: 16,
    parts: [
      { circle: [8, 8, 3] },
      {
        path: 'M8 1.5v1.6M8 12.9v1.6M1.5 8h1.6M12.9 8h1.6M3.4 3.4l1.1 1.1M11.5 11.5l1.1 1.1M3.4 12.6l1.1-1.1M11.5 4.5l1.1-1.1',
        stroke: 1.3,
        cap: true,
      },
    ],
  },
  /** Something failed: a hexagon with an exclamation mark (banners, the workspace error). */
  'alert-lg': { grid: 20, parts: alertParts },
  /** A destructive action waits for confirmation. */
  'warning-lg': {
    grid: 20,
    parts: [
      { path: 'M10 2.5 18.5 17h-17z', stroke: 1.6, join: true },
      { path: 'M10 8v4.2M10 14.6v.2', stroke: 1.8, cap: true },
    ],
  },
  'stethoscope-lg': {
    grid: 20,
    parts: [
      { path: 'M5 2.5v5a4 4 0 0 0 8 0v-5M9 11.5v2a3.5 3.5 0 0 0 7 0V11', stroke: 1.6, cap: true },
      { circle: [16, 9.5, 1.6], stroke: 1.5 },
    ],
  },
  /** Only watching: another program supervises the workspace. */
  'eye-lg': {
    grid: 20,
    parts: [
      { path: 'M1.8 10S4.8 4.5 10 4.5 18.2 10 18.2 10 15.2 15.5 10 15.5 1.8 10 1.8 10z', stroke: 1.6, join: true },
      { circle: [10, 10, 2.6], stroke: 1.6 },
    ],
  },
  'check-lg': { grid: 20, parts: [{ path: 'm5 10.5 3.2 3L15 6.5', stroke: 1.8, cap: true, join: true }] },
} as const satisfies Record<string, IconShape>;

export type IconName = keyof typeof ICONS;
