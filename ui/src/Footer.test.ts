// The footer names Kovan's own log file and its last warning, in both languages, and reads it again
// only when something happened (an instance changed state, the window got the focus back).
import { emit } from '@tauri-apps/api/event';
import { describe, expect, it, vi } from 'vitest';

import { setLeaveRunning } from './lib/api';
import { setLanguage } from './lib/i18n/index.svelte';
import { instanceState, loadedView } from './test/fixtures';
import { named, render, serve, text, until, waitFor } from './test/harness';

const file = '/home/u/.local/share/kovan/logs/window.2026-12-04.log';
const warning =
  '2026-12-04T10:00:00.000000Z ERROR kovan_core::error: port_in_use: port 8001 is taken by python (PID 4242)';

describe('the footer', () => {
  it('names the log file and its last warning, in Turkish and English', async () => {
    serve({ workspace_view: loadedView, diagnostic_log: { path: file, lastTrouble: warning } });
    render();
    await waitFor('[data-testid="diagnostic-last-trouble"]');
    expect(text('[data-testid="diagnostic-log"]')).toBe(`Kovan günlüğü ${file}`);
    expect(text('[data-testid="diagnostic-last-trouble"]')).toBe(`Son uyarı ${warning}`);
    setLanguage('en');
    await until(() => text('[data-testid="diagnostic-log"]').startsWith('Kovan’s log'), 'English');
    expect(text('[data-testid="diagnostic-last-trouble"]')).toBe(`Last warning ${warning}`);
  });

  it('shows no warning line when the log holds none', async () => {
    serve({ workspace_view: loadedView, diagnostic_log: { path: file, lastTrouble: null } });
    render();
    await waitFor('[data-testid="diagnostic-log-path"]');
    expect(text('[data-testid="diagnostic-log-path"]')).toBe(file);
    expect(document.querySelector('[data-testid="diagnostic-last-trouble"]')).toBeNull();
  });

  it('reads the log again once after a burst of state changes, and on focus, never on a timer', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    let trouble: string | null = null;
    let refuse = false;
    const calls = serve({
      workspace_view: loadedView,
      diagnostic_log: () => ({ path: file, lastTrouble: trouble }),
      set_leave_running: () => {
        if (refuse) throw { kind: 'internal', message: 'refused', detail: null };
        return null;
      },
    });
    render();
    await waitFor('[data-testid="diagnostic-log-path"]');
    await until(() => named(calls, 'diagnostic_log').length === 1, 'the first read');
    // Nothing happens: nothing is read, however long the window stays open.
    await vi.advanceTimersByTimeAsync(60_000);
    expect(named(calls, 'diagnostic_log')).toHaveLength(1);

    trouble = warning;
    for (const status of ['starting', 'running'] as const) {
      await emit('instance://status', instanceState('chat_main', 8000, { status }));
    }
    await vi.advanceTimersByTimeAsync(1_000);
    await waitFor('[data-testid="diagnostic-last-trouble"]');
    expect(named(calls, 'diagnostic_log')).toHaveLength(2);

    window.dispatchEvent(new Event('focus'));
    await until(() => named(calls, 'diagnostic_log').length === 3, 'the read on focus');

    // A command that failed: its error is in the log now.
    refuse = true;
    await expect(setLeaveRunning(true)).rejects.toMatchObject({ kind: 'internal' });
    await vi.advanceTimersByTimeAsync(1_000);
    await until(() => named(calls, 'diagnostic_log').length === 4, 'the read after a failure');
    vi.useRealTimers();
  });
});
