// At a glance in the window: the layout toggle (remembered per workspace) and the keyboard path
// through the cards (arrows, Enter for the log, F for Cache Temizle, none of it in a field or dialog).
import { flushSync } from 'svelte';
import { describe, expect, it } from 'vitest';

import { LAYOUT_KEY } from './lib/layout.svelte';
import { loadedView } from './test/fixtures';
import { button, card, render, serve, target, until, waitFor } from './test/harness';

function press(on: Element, key: string, options: KeyboardEventInit = {}): KeyboardEvent {
  const event = new KeyboardEvent('keydown', { key, bubbles: true, cancelable: true, ...options });
  on.dispatchEvent(event);
  flushSync();
  return event;
}

// jsdom lays nothing out: place loadedView's three cards in a row of two and one below.
function layOut(): void {
  const cards = [...target.querySelectorAll<HTMLElement>('[data-card-key]')];
  cards.forEach((c, i) => {
    const box = { left: (i % 2) * 300, top: Math.floor(i / 2) * 200, width: 290, height: 190 };
    c.getBoundingClientRect = () => ({ ...box, right: box.left + box.width, bottom: box.top + box.height, x: box.left, y: box.top, toJSON: () => box });
  });
}

describe('the layout', () => {
  it('opens comfortable for three cards, switches to compact from the header and remembers it for the workspace', async () => {
    serve({ workspace_view: loadedView });
    render();
    await waitFor('[data-testid="instance-card"]');
    const toggle = button('layout-toggle');
    expect(toggle.dataset.layout).toBe('comfortable');
    expect(toggle.textContent?.trim()).toBe('Rahat');
    expect(card('chat_main').querySelector('[data-testid="cache-class"]')).not.toBeNull();
    toggle.click();
    flushSync();
    expect(toggle.dataset.layout).toBe('compact');
    expect(toggle.textContent?.trim()).toBe('Sıkışık');
    expect(target.querySelector('[data-layout="compact"]')).not.toBeNull();
    // Compact: the signal and the numbers, not every derived name.
    expect(card('chat_main').querySelector('[data-testid="cache-class"]')).toBeNull();
    expect(card('chat_main').querySelector('[data-testid="signal"]')?.textContent).toBe('Durdu');
    expect(localStorage.getItem(`${LAYOUT_KEY}:${loadedView.file}`)).toBe('compact');
  });
});

describe('the keyboard path through the cards', () => {
  it('moves with the arrows, opens the log with Enter and Cache Temizle with F, whose dialog still asks', async () => {
    serve({
      workspace_view: loadedView,
      subscribe_logs: () => null,
      flush_preview_part: () => new Promise(() => {}),
    });
    render();
    await waitFor('[data-testid="instance-card"]');
    await until(() => !button('flush', card('chat_main')).disabled, 'the counts');
    layOut();
    const main = card('chat_main');
    main.focus();
    press(main, 'ArrowRight');
    expect(document.activeElement).toBe(card('chat_api'));
    press(card('chat_api'), 'ArrowDown');
    // chat_websocket is alone on the second row, under chat_main: down from chat_api reaches it,
    // and up from it goes to the card above it.
    expect(document.activeElement).toBe(card('chat_websocket'));
    press(card('chat_websocket'), 'ArrowUp');
    expect(document.activeElement).toBe(main);
    expect(press(main, 'ArrowLeft').defaultPrevented).toBe(true);
    expect(document.activeElement).toBe(main);

    press(main, 'Enter');
    await waitFor('[data-testid="log-drawer"]');

    main.focus();
    press(main, 'f');
    const dialog = await waitFor('[data-testid="flush-dialog"]');
    // The dialog keeps the keyboard: another F or an arrow does nothing to the cards behind it.
    press(dialog, 'ArrowRight');
    press(main, 'F');
    expect(target.querySelectorAll('[data-testid="flush-dialog"]')).toHaveLength(1);
    expect(dialog.contains(document.activeElement)).toBe(true);
    expect((document.activeElement as HTMLElement | null)?.dataset.testid).not.toBe('flush-confirm');
  });

  it('ignores the keys (and the Ctrl shortcuts) in a field, and Enter with a modifier', async () => {
    serve({ workspace_view: loadedView, subscribe_logs: () => null });
    render();
    await waitFor('[data-testid="instance-card"]');
    layOut();
    const field = document.createElement('input');
    card('chat_main').append(field);
    field.focus();
    press(field, 'f');
    press(field, 'ArrowRight');
    expect(document.activeElement).toBe(field);
    expect(target.querySelector('[data-testid="flush-dialog"]')).toBeNull();
    // The window's Ctrl shortcuts wait too while the user types.
    press(field, 'g', { ctrlKey: true });
    expect(target.querySelector('[data-testid="generator"]')).toBeNull();
    const main = card('chat_main');
    main.focus();
    press(main, 'Enter', { ctrlKey: true });
    expect(target.querySelector('[data-testid="log-drawer"]')).toBeNull();
  });
});
