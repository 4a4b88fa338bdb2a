import { afterEach, describe, expect, it } from 'vitest';

import { cardKeyOf, neighbour, type Box } from './cardkeys';

// A grid of three columns, cards 200x100 with 10 px gaps, as boxes on screen.
function grid(count: number, columns: number, top = 0): Box[] {
  return Array.from({ length: count }, (_, i) => ({
    left: (i % columns) * 210,
    top: top + Math.floor(i / columns) * 110,
    width: 200,
    height: 100,
  }));
}

describe('moving between cards', () => {
  const boxes = grid(7, 3); // rows: 0 1 2 / 3 4 5 / 6

  it('left and right go to the previous and next card, across rows, and stop at the ends', () => {
    expect(neighbour(boxes, 1, 'right')).toBe(2);
    expect(neighbour(boxes, 2, 'right')).toBe(3);
    expect(neighbour(boxes, 3, 'left')).toBe(2);
    expect(neighbour(boxes, 0, 'left')).toBeNull();
    expect(neighbour(boxes, 6, 'right')).toBeNull();
  });

  it('up and down go to the card of the next row nearest in x, and stop at the top and bottom', () => {
    expect(neighbour(boxes, 1, 'down')).toBe(4);
    expect(neighbour(boxes, 4, 'up')).toBe(1);
    expect(neighbour(boxes, 5, 'down')).toBe(6);
    expect(neighbour(boxes, 3, 'down')).toBe(6);
    expect(neighbour(boxes, 6, 'up')).toBe(3);
    expect(neighbour(boxes, 2, 'up')).toBeNull();
    expect(neighbour(boxes, 6, 'down')).toBeNull();
  });

  it('crosses from a site group’s row to the isolated grid below it, whose columns differ', () => {
    // The group's three members (narrower, inset), then five isolated cards in a row of five.
    const members: Box[] = [0, 1, 2].map((i) => ({ left: 20 + i * 250, top: 80, width: 240, height: 100 }));
    const isolated: Box[] = [0, 1, 2, 3, 4].map((i) => ({ left: i * 160, top: 260, width: 150, height: 100 }));
    const all = [...members, ...isolated];
    expect(neighbour(all, 1, 'down')).toBe(5); // member 1's middle (385) is nearest isolated 2's (395)
    expect(neighbour(all, 7, 'up')).toBe(2); // isolated 4 (middle 715) goes up to member 2 (640)
    expect(neighbour(all, 3, 'up')).toBe(0);
  });
});

describe('which keys are the cards’', () => {
  let root: HTMLElement;
  afterEach(() => root?.remove());

  function page(): { card: HTMLElement; button: HTMLButtonElement; input: HTMLInputElement } {
    root = document.createElement('div');
    root.innerHTML =
      '<article data-card-key tabindex="0"><button>Başlat</button></article><input type="search"><div contenteditable="true"></div>';
    document.body.append(root);
    return {
      card: root.querySelector('article')!,
      button: root.querySelector('button')!,
      input: root.querySelector('input')!,
    };
  }

  function press(key: string, target: EventTarget, extra: Partial<KeyboardEvent> = {}) {
    return { key, target, ctrlKey: false, metaKey: false, altKey: false, defaultPrevented: false, ...extra };
  }

  it('arrows move from a card or from a button inside it; Enter opens only the card itself; F flushes', () => {
    const { card, button } = page();
    expect(cardKeyOf(press('ArrowDown', card), false)).toEqual({ card, key: { kind: 'move', direction: 'down' } });
    expect(cardKeyOf(press('ArrowLeft', button), false)).toEqual({ card, key: { kind: 'move', direction: 'left' } });
    expect(cardKeyOf(press('Enter', card), false)).toEqual({ card, key: { kind: 'open' } });
    expect(cardKeyOf(press('Enter', button), false)).toBeNull();
    expect(cardKeyOf(press('f', card), false)).toEqual({ card, key: { kind: 'flush' } });
    expect(cardKeyOf(press('F', button), false)).toEqual({ card, key: { kind: 'flush' } });
    expect(cardKeyOf(press('x', card), false)).toBeNull();
  });

  it('nothing fires while a dialog is open, in a field, with a modifier, outside a card, or when handled', () => {
    const { card, input } = page();
    const editable = root.querySelector<HTMLElement>('[contenteditable]')!;
    // jsdom does not compute isContentEditable from the attribute.
    Object.defineProperty(editable, 'isContentEditable', { value: true });
    expect(cardKeyOf(press('f', card), true)).toBeNull();
    expect(cardKeyOf(press('ArrowDown', card), true)).toBeNull();
    expect(cardKeyOf(press('f', input), false)).toBeNull();
    expect(cardKeyOf(press('f', editable), false)).toBeNull();
    expect(cardKeyOf(press('f', card, { ctrlKey: true }), false)).toBeNull();
    expect(cardKeyOf(press('f', card, { metaKey: true }), false)).toBeNull();
    expect(cardKeyOf(press('f', card, { altKey: true }), false)).toBeNull();
    expect(cardKeyOf(press('f', card, { defaultPrevented: true }), false)).toBeNull();
    expect(cardKeyOf(press('ArrowDown', document.body), false)).toBeNull();
  });
});
