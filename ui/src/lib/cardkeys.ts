// The keyboard path through the cards: the arrow keys move focus from card to card as they are laid
// out on screen, Enter opens the focused card's log, F its "Cache Temizle" (whose dialog still asks).
// Nothing fires while the user types in a field or while a dialog is open.

export type Direction = 'left' | 'right' | 'up' | 'down';

export type CardKey = { kind: 'move'; direction: Direction } | { kind: 'open' } | { kind: 'flush' };

/** What every card carries, for the key handler to find it. */
export const CARD_SELECTOR = '[data-card-key]';

const ARROWS: Record<string, Direction> = {
  ArrowLeft: 'left',
  ArrowRight: 'right',
  ArrowUp: 'up',
  ArrowDown: 'down',
};

/** Whether `target` takes typed text (a field, an editable region): its keys are the user's. */
export function isTyping(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  if (target.isContentEditable) return true;
  if (target instanceof HTMLTextAreaElement || target instanceof HTMLSelectElement) return true;
  if (target instanceof HTMLInputElement) {
    return !['button', 'checkbox', 'radio', 'submit', 'reset', 'image', 'range', 'color', 'file'].includes(target.type);
  }
  return false;
}

/** The card `event` is about and what it asks of it; null when the key is not the cards'. */
export function cardKeyOf(
  event: Pick<KeyboardEvent, 'key' | 'target' | 'ctrlKey' | 'metaKey' | 'altKey' | 'defaultPrevented'>,
  dialogOpen: boolean,
): { card: HTMLElement; key: CardKey } | null {
  if (dialogOpen || event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey) return null;
  const target = event.target;
  if (!(target instanceof HTMLElement) || isTyping(target)) return null;
  const card = target.closest<HTMLElement>(CARD_SELECTOR);
  if (card === null) return null;
  const direction = ARROWS[event.key];
  if (direction) return { card, key: { kind: 'move', direction } };
  // Enter on a button inside the card is that button's.
  if (event.key === 'Enter' && target === card) return { card, key: { kind: 'open' } };
  if (event.key === 'f' || event.key === 'F') return { card, key: { kind: 'flush' } };
  return null;
}

export interface Box {
  left: number;
  top: number;
  width: number;
  height: number;
}

/** The card to move to from `from` among `boxes` (in reading order, as on screen): left and right
 * go to the previous and next card (across rows and groups, as one reads), up and down to the
 * nearest row above or below, to the card whose middle is closest to this one's. Null at an edge. */
export function neighbour(boxes: readonly Box[], from: number, direction: Direction): number | null {
  if (direction === 'left') return from > 0 ? from - 1 : null;
  if (direction === 'right') return from < boxes.length - 1 ? from + 1 : null;
  const here = boxes[from];
  if (!here) return null;
  const middle = here.top + here.height / 2;
  const centre = (b: Box) => b.left + b.width / 2;
  const candidates = boxes
    .map((box, index) => ({ box, index }))
    .filter(({ box, index }) =>
      index !== from && (direction === 'down' ? box.top >= middle : box.top + box.height <= middle),
    );
  if (candidates.length === 0) return null;
  // The nearest row: the smallest distance in y (a few pixels of slack for rows not quite aligned).
  const distance = (b: Box) => (direction === 'down' ? b.top - here.top : here.top - b.top);
  const nearest = Math.min(...candidates.map(({ box }) => distance(box)));
  const row = candidates.filter(({ box }) => distance(box) <= nearest + 8);
  row.sort((a, b) => Math.abs(centre(a.box) - centre(here)) - Math.abs(centre(b.box) - centre(here)));
  return row[0]?.index ?? null;
}
