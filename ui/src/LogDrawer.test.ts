// The log drawer, opened from a card: the snapshot, then batches over the channel; search, follow,
// the 5000-line cap, and only the visible rows in the DOM.
import type { Channel } from '@tauri-apps/api/core';
import { flushSync } from 'svelte';
import { describe, expect, it } from 'vitest';

import type { LogLine } from './lib/bindings/LogLine';
import { setLanguage } from './lib/i18n/index.svelte';
import { loadedView, logLines } from './test/fixtures';
import { all, button, card, named, one, render, sender, serve, target, text, until, waitFor } from './test/harness';

interface Opened {
  drawer: HTMLElement;
  send: (lines: LogLine[]) => void;
  calls: ReturnType<typeof serve>;
}

/** jsdom has no layout: give the viewport a height, a scroll height and a clamped scrollTop. */
function layout(viewport: HTMLElement, height = 360): void {
  let top = 0;
  const total = () => parseFloat((viewport.firstElementChild as HTMLElement).style.height) || 0;
  Object.defineProperty(viewport, 'clientHeight', { configurable: true, get: () => height });
  Object.defineProperty(viewport, 'scrollHeight', { configurable: true, get: () => Math.max(height, total()) });
  Object.defineProperty(viewport, 'scrollTop', {
    configurable: true,
    get: () => top,
    set: (value: number) => {
      top = Math.max(0, Math.min(value, Math.max(0, total() - height)));
    },
  });
}

/** Open `instance`'s drawer with the backend answering subscribe_logs. */
async function openLogs(instance = 'chat_main', opener?: () => HTMLElement): Promise<Opened> {
  let channel: Channel<LogLine[]> | null = null;
  const calls = serve({
    workspace_view: loadedView,
    subscribe_logs: (args: Record<string, unknown>) => {
      channel = args.channel as Channel<LogLine[]>;
      return null;
    },
  });
  render();
  await waitFor('[data-testid="instance-card"]');
  (opener ? opener() : button('logs', card(instance))).click();
  const drawer = await waitFor('[data-testid="log-drawer"]');
  layout(one('[data-testid="log-viewport"]', drawer));
  await until(() => channel !== null, 'subscribe_logs');
  return { drawer, send: sender(channel!), calls };
}

/** The seq of the last row drawn. */
function lastSeq(): string | undefined {
  const rows = all('[data-testid="log-line"]');
  return rows[rows.length - 1]?.dataset.seq;
}

function count(): string {
  return text('[data-testid="log-count"]');
}

describe('the log drawer', () => {
  it('subscribes when opened and shows the snapshot, streams apart', async () => {
    const { drawer, send, calls } = await openLogs();
    expect(drawer.dataset.instance).toBe('chat_main');
    expect(named(calls, 'subscribe_logs').map((c) => c.args.instance)).toEqual(['chat_main']);
    expect(text('#log-drawer-title')).toBe('chat_main logları');
    expect(document.activeElement).toBe(one('[data-testid="log-search"]'));

    send(logLines(120));
    await until(() => count() === '120 / 120 satır', 'the snapshot');
    const rows = all('[data-testid="log-line"]');
    // Only the rows in view (plus a margin) are in the DOM.
    expect(rows.length).toBeGreaterThan(10);
    expect(rows.length).toBeLessThan(120);
    const stderr = rows.find((r) => r.dataset.stream === 'stderr')!;
    expect(stderr.classList.contains('stream-stderr')).toBe(true);
    const kovan = all('[data-testid="log-line"][data-stream="kovan"]');
    for (const row of kovan) expect(row.classList.contains('stream-kovan')).toBe(true);

    send(logLines(5, 121));
    await until(() => count() === '125 / 125 satır', 'the next batch');
    // Follow keeps the newest line in view.
    expect(lastSeq()).toBe('125');
    expect(one('[data-testid="log-follow"]').getAttribute('aria-pressed')).toBe('true');

    setLanguage('en');
    flushSync();
    expect(count()).toBe('125 / 125 lines');
  });

  it('filters lines by search, case-insensitively, and highlights the matches', async () => {
    const { send } = await openLogs();
    send(logLines(120));
    await until(() => count() === '120 / 120 satır', 'the snapshot');

    const search = one('[data-testid="log-search"]') as HTMLInputElement;
    search.value = 'ITEMS/11';
    search.dispatchEvent(new Event('input', { bubbles: true }));
    flushSync();
    // /items/11/ and /items/110/ … /items/119/
    expect(count()).toBe('11 / 120 satır');
    const rows = all('[data-testid="log-line"]');
    expect(rows.map((r) => r.dataset.seq)).toEqual(['11', ...Array.from({ length: 10 }, (_, i) => String(110 + i))]);
    expect(rows.every((r) => r.querySelector('mark')?.textContent === 'items/11')).toBe(true);

    // New lines are filtered as they arrive.
    send([
      { seq: 121, stream: 'stdout', text: 'GET /Items/11/edit' },
      { seq: 122, stream: 'stdout', text: 'GET /other' },
    ]);
    await until(() => count() === '12 / 122 satır', 'the filtered batch');

    search.value = 'nothing like this';
    search.dispatchEvent(new Event('input', { bubbles: true }));
    flushSync();
    expect(count()).toBe('0 / 122 satır');
    expect(text('[data-testid="log-no-match"]')).toBe('Aramaya uyan satır yok.');

    // Escape in the search box clears it first.
    search.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', bubbles: true }));
    flushSync();
    expect(search.value).toBe('');
    expect(count()).toBe('122 / 122 satır');
    expect(target.querySelector('[data-testid="log-drawer"]')).not.toBeNull();
  });

  it('keeps at most 5000 lines, and only the visible rows in the DOM, under a flood', async () => {
    const { send } = await openLogs();
    send(logLines(5000));
    await until(() => count() === '5000 / 5000 satır', 'the snapshot');
    expect(target.querySelector('[data-testid="log-capped"]')?.textContent).toContain('5000');

    // A second of 10,000 lines, in batches of 2000 as core sends them.
    for (let batch = 0; batch < 5; batch++) send(logLines(2000, 5001 + batch * 2000));
    await until(() => lastSeq() === '15000', 'the flood');
    const counter = one('[data-testid="log-count"]');
    expect(counter.dataset.total).toBe('5000');
    expect(count()).toBe('5000 / 5000 satır');
    expect(all('[data-testid="log-line"]').length).toBeLessThan(100);

    // Scrolled up, the line in view stays in view while the oldest lines drop off.
    const viewport = one('[data-testid="log-viewport"]');
    viewport.dispatchEvent(new WheelEvent('wheel', { deltaY: -300, bubbles: true }));
    viewport.scrollTop = 2000 * 18;
    viewport.dispatchEvent(new Event('scroll'));
    flushSync();
    expect(one('[data-testid="log-follow"]').getAttribute('aria-pressed')).toBe('false');
    send(logLines(500, 15001));
    await until(() => viewport.scrollTop === 1500 * 18, 'the view to keep its line');
    expect(all('[data-testid="log-line"]').some((r) => r.dataset.seq === '12001')).toBe(true);

    // The oldest kept line is the 5000th from the end.
    const search = one('[data-testid="log-search"]') as HTMLInputElement;
    search.value = '[10500]';
    search.dispatchEvent(new Event('input', { bubbles: true }));
    flushSync();
    expect(count()).toBe('0 / 5000 satır');
    search.value = '[10501]';
    search.dispatchEvent(new Event('input', { bubbles: true }));
    flushSync();
    expect(count()).toBe('1 / 5000 satır');
  });

  it('stops following when the user scrolls up, and follows again on request', async () => {
    const { send } = await openLogs();
    send(logLines(400));
    await until(() => count() === '400 / 400 satır', 'the snapshot');

    const viewport = one('[data-testid="log-viewport"]');
    expect(viewport.scrollTop).toBe(400 * 18 - 360);
    const follow = one('[data-testid="log-follow"]');
    expect(follow.getAttribute('aria-pressed')).toBe('true');

    viewport.dispatchEvent(new WheelEvent('wheel', { deltaY: -300, bubbles: true }));
    viewport.scrollTop = 1800;
    viewport.dispatchEvent(new Event('scroll'));
    flushSync();
    expect(follow.getAttribute('aria-pressed')).toBe('false');
    // Rows around the new position are drawn.
    expect(all('[data-testid="log-line"]').some((r) => r.dataset.seq === '101')).toBe(true);

    // New lines do not move the view while not following.
    send(logLines(10, 401));
    await until(() => count() === '410 / 410 satır', 'the batch');
    expect(viewport.scrollTop).toBe(1800);

    follow.click();
    flushSync();
    expect(follow.getAttribute('aria-pressed')).toBe('true');
    expect(viewport.scrollTop).toBe(410 * 18 - 360);
    expect(lastSeq()).toBe('410');
  });

  it('drops batches after closing, and gives focus back to the Logs button', async () => {
    const { send } = await openLogs();
    send(logLines(3));
    await until(() => count() === '3 / 3 satır', 'the snapshot');
    const opener = button('logs', card('chat_main'));

    button('log-close').click();
    flushSync();
    expect(target.querySelector('[data-testid="log-drawer"]')).toBeNull();
    expect(document.activeElement).toBe(opener);
    // The channel cannot be closed from the window: what still comes is dropped.
    expect(() => send(logLines(50, 4))).not.toThrow();
    await new Promise((resolve) => setTimeout(resolve, 40));
    flushSync();
    expect(target.querySelector('[data-testid="log-line"]')).toBeNull();
  });

  it('closes with Escape, and opens the Redis log from its card', async () => {
    const { calls } = await openLogs('redis-server', () => button('redis-logs'));
    expect(named(calls, 'subscribe_logs').map((c) => c.args.instance)).toEqual(['redis-server']);
    one('[data-testid="log-drawer"]').dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', bubbles: true }));
    flushSync();
    expect(target.querySelector('[data-testid="log-drawer"]')).toBeNull();
  });

  it('shows a refused subscription', async () => {
    serve({
      workspace_view: loadedView,
      subscribe_logs: () => {
        throw { kind: 'unknown_instance', message: 'chat_main is not an instance of this workspace.' };
      },
    });
    render();
    await waitFor('[data-testid="instance-card"]');
    button('logs', card('chat_main')).click();
    const error = await waitFor('[data-testid="log-error"]');
    expect(error.textContent).toContain('Log alınamadı');
    expect(error.textContent).toContain('not an instance');
  });
});
