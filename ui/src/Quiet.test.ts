// The idle window costs next to nothing (issue 17): what core sends that changes nothing on a card
// changes nothing in the page, uptimes change at their coarsest visible unit, nothing spins on an
// idle card, and a hidden window takes no updates and catches up in one step when shown.
import { emit } from '@tauri-apps/api/event';
import { flushSync } from 'svelte';
import { afterEach, describe, expect, it, vi } from 'vitest';

import type { HealthBatch } from './lib/bindings/HealthBatch';
import type { InstanceHealth } from './lib/bindings/InstanceHealth';
import type { InstanceState } from './lib/bindings/InstanceState';
import { instanceState, loadedView, stoppedStates } from './test/fixtures';
import { card, named, render, serve, target, text, until, waitFor } from './test/harness';

const running = (name: string, port: number, patch: Partial<InstanceState> = {}) =>
  instanceState(name, port, { status: 'running', pid: 4000 + (port - 8000), startedAt: Date.now() - 600_000, ...patch });

function checked(instance: string, patch: Partial<InstanceHealth> = {}): InstanceHealth {
  return {
    instance,
    port: 8001,
    state: 'up',
    previous: 'up',
    checkOk: true,
    latencyMs: 4.2,
    httpStatus: 200,
    error: null,
    failure: null,
    reported: null,
    mismatches: [],
    database: null,
    resources: { cpuPercent: 0.4, rssBytes: 84 * 1024 * 1024, uptimeSecs: 30, processes: 2 },
    checkedAt: Date.now(),
    ...patch,
  };
}

function batch(health: InstanceHealth, points: (number | null)[] = []): HealthBatch {
  return { events: [{ type: 'instance', ...health }], latencies: points.length ? [{ instance: health.instance, points }] : [] };
}

/** Every change the page makes under `root` while `act` runs (and Svelte flushes). */
async function mutations(root: Node, act: () => Promise<void>): Promise<MutationRecord[]> {
  const seen: MutationRecord[] = [];
  const observer = new MutationObserver((records) => seen.push(...records));
  observer.observe(root, { subtree: true, childList: true, attributes: true, characterData: true });
  await act();
  await new Promise((resolve) => setTimeout(resolve, 20));
  flushSync();
  seen.push(...observer.takeRecords());
  observer.disconnect();
  return seen;
}

let visibility: DocumentVisibilityState = 'visible';
function setVisibility(state: DocumentVisibilityState): void {
  visibility = state;
  Object.defineProperty(document, 'visibilityState', { configurable: true, get: () => visibility });
  document.dispatchEvent(new Event('visibilitychange'));
}

afterEach(() => {
  vi.useRealTimers();
  if (visibility !== 'visible') setVisibility('visible');
});

const states = [running('chat_main', 8000), running('chat_api', 8001), ...stoppedStates.slice(2)];

async function healthy(): Promise<HTMLElement> {
  render();
  await waitFor('[data-instance="chat_api"][data-status="running"]');
  await emit('instance://health', batch(checked('chat_api'), [4.2]));
  await waitFor('[data-instance="chat_api"] [data-testid="health"][data-verdict="healthy"]');
  return card('chat_api');
}

describe('the idle window', () => {
  it('changes nothing in the page for a check that shows the same, and only the changed text for one that does not', async () => {
    serve({ workspace_view: loadedView, instance_states: states });
    const api = await healthy();
    // The same check again, made later, the group a little older: nothing the card shows.
    const same = await mutations(target, () =>
      emit('instance://health', batch(checked('chat_api', { checkedAt: Date.now() + 2000, resources: { cpuPercent: 0.4, rssBytes: 84 * 1024 * 1024, uptimeSecs: 32, processes: 2 } }))),
    );
    expect(same.map((m) => `${m.type} ${(m.target as Element).outerHTML ?? m.target.textContent}`)).toEqual([]);
    // Another latency: the latency text, nothing else on the card.
    const changed = await mutations(api, () => emit('instance://health', batch(checked('chat_api', { latencyMs: 7.5 }))));
    expect(text('[data-testid="latency"]', api)).toBe('7,5 ms');
    expect(changed.length).toBeGreaterThan(0);
    const touched = new Set(changed.map((m) => (m.target.nodeType === Node.TEXT_NODE ? m.target.parentElement : (m.target as Element))?.closest('[data-testid]')?.getAttribute('data-testid')));
    expect([...touched]).toEqual(['latency']);
  });

  it('moves a sparkline only when points arrive, and keeps the rest of the card', async () => {
    serve({ workspace_view: loadedView, instance_states: states });
    const api = await healthy();
    const path = () => api.querySelector('[data-testid="sparkline"] path')?.getAttribute('d');
    const before = path();
    const records = await mutations(api, () =>
      emit('instance://health', { events: [], latencies: [{ instance: 'chat_api', points: [5.1, 6.3, null] }] }),
    );
    expect(path()).not.toBe(before);
    expect(records.every((m) => (m.target as Element).closest?.('[data-testid="sparkline"]'))).toBe(true);
  });

  it('shows an uptime past its first minute in minutes: its text stays for the minute, then changes once', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    serve({ workspace_view: loadedView, instance_states: [running('chat_main', 8000, { startedAt: Date.now() - 61_000 })] });
    render();
    await waitFor('[data-instance="chat_main"] [data-testid="uptime"]');
    const main = card('chat_main');
    expect(text('[data-testid="uptime"]', main)).toBe('çalışma süresi 1 dk');
    const node = main.querySelector('[data-testid="uptime"]')!;
    const quiet = await (async () => {
      const seen: MutationRecord[] = [];
      const observer = new MutationObserver((records) => seen.push(...records));
      observer.observe(node, { subtree: true, childList: true, characterData: true });
      for (let s = 0; s < 55; s++) {
        vi.advanceTimersByTime(1000);
        flushSync();
      }
      await Promise.resolve();
      seen.push(...observer.takeRecords());
      observer.disconnect();
      return seen;
    })();
    expect(quiet).toEqual([]);
    expect(text('[data-testid="uptime"]', main)).toBe('çalışma süresi 1 dk');
    vi.advanceTimersByTime(6000);
    flushSync();
    expect(text('[data-testid="uptime"]', main)).toBe('çalışma süresi 2 dk');
  });

  it('runs no animation on idle cards: nothing spins while nothing is in progress', async () => {
    serve({ workspace_view: loadedView, instance_states: states });
    await healthy();
    await until(() => target.querySelector('[data-testid="key-count"]') !== null, 'the counts');
    expect(target.querySelectorAll('.spinner, .spin')).toHaveLength(0);
  });
});

describe('a hidden window', () => {
  it('tells the shell, takes no updates while hidden, and catches up from health_latest once when shown', async () => {
    let latest: InstanceHealth[] = [];
    const calls = serve({
      workspace_view: loadedView,
      instance_states: states,
      set_window_visible: null,
      health_latest: () => latest,
    });
    const api = await healthy();
    const before = named(calls, 'health_latest').length;

    setVisibility('hidden');
    await until(() => named(calls, 'set_window_visible').length === 1, 'the shell to be told');
    expect(named(calls, 'set_window_visible')[0].args).toEqual({ visible: false });
    const records = await mutations(target, () => emit('instance://health', batch(checked('chat_api', { latencyMs: 9.9 }), [9.9])));
    expect(records).toEqual([]);
    expect(text('[data-testid="latency"]', api)).toBe('4,2 ms');

    latest = [checked('chat_api', { latencyMs: 3.3 })];
    setVisibility('visible');
    await until(() => text('[data-testid="latency"]', api) === '3,3 ms', 'the catch-up');
    expect(named(calls, 'set_window_visible').map((c) => c.args)).toEqual([{ visible: false }, { visible: true }]);
    expect(named(calls, 'health_latest').length).toBe(before + 1);
  });
});
