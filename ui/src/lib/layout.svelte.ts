// The cards' layout: compact (ten instances and a site group on one 1280x800 screen) or comfortable
// (every derived name on the card). Remembered per workspace file in localStorage (the window's
// profile, like the theme and the language); a workspace never switched picks compact when it has
// more than COMPACT_ABOVE cards.

export type Layout = 'compact' | 'comfortable';

export const LAYOUT_KEY = 'kovan.layout';
/** More cards than this and a workspace opens compact until the user says otherwise. */
export const COMPACT_ABOVE = 6;

/** The layout a workspace of `cards` instances opens with when the user never chose one. */
export function defaultLayout(cards: number): Layout {
  return cards > COMPACT_ABOVE ? 'compact' : 'comfortable';
}

function storageKey(file: string): string {
  return `${LAYOUT_KEY}:${file}`;
}

function stored(file: string | null): Layout | null {
  if (file === null) return null;
  try {
    const value = globalThis.localStorage?.getItem(storageKey(file));
    if (value === 'compact' || value === 'comfortable') return value;
  } catch {
    // Storage can be disabled: the default holds.
  }
  return null;
}

const state = $state<{ file: string | null; cards: number; chosen: Layout | null }>({
  file: null,
  cards: 0,
  chosen: null,
});

/** The layout the cards are drawn in now. */
export function layout(): Layout {
  return state.chosen ?? defaultLayout(state.cards);
}

/** A workspace was loaded: its remembered layout, or the default for its number of cards. */
export function useWorkspace(file: string | null, cards: number): void {
  state.file = file;
  state.cards = cards;
  state.chosen = stored(file);
}

export function setLayout(chosen: Layout): void {
  state.chosen = chosen;
  if (state.file === null) return;
  try {
    globalThis.localStorage?.setItem(storageKey(state.file), chosen);
  } catch {
    // Not remembered across restarts, but still switched.
  }
}

export function toggleLayout(): void {
  setLayout(layout() === 'compact' ? 'comfortable' : 'compact');
}
