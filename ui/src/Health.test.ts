// Health at a glance through the whole window: the poller's events turn cards green or red, a name an
// instance reports differently is a finding on its card, and a crash or an instance going down
// notifies only when the user is looking elsewhere.
import type { Channel } from '@tauri-apps/api/core';
import { emit } from '@tauri-apps/api/event';
import { describe, expect, it, vi } from 'vitest';

import type { HealthBatch } from './lib/bindings/HealthBatch';
import type { HealthEvent } from './lib/bindings/HealthEvent';
import type { InstanceHealth } from './lib/bindings/InstanceHealth';
import type { InstanceState } from './lib/bindings/InstanceState';
import { instanceState, loadedView, stoppedStates } from './test/fixtures';
import { card, named, one, render, sender, serve, text, until, waitFor } from './test/harness';

const running = (name: string, port: number, patch: Partial<InstanceState> = {}) =>
  instanceState(name, port, { status: 'running', pid: 4000 + (port - 8000), startedAt: Date.now() - 5_000, ...patch });

function checked(instance: string, patch: Partial<InstanceHealth> = {}): InstanceHealth {
  return {
    instance,
    port: 8001,
    state: 'up',
    previous: 'up',
    checkOk: true,
    latencyMs: 12.4,
    httpStatus: 200,
    error: null,
    failure: null,
    reported: null,
    mismatches: [],
    database: {
      path: `/p/db_${instance}.sqlite3`,
      exists: true,
      sizeBytes: 3 * 1024 * 1024,
      journalMode: 'wal',
      writeLock: 'none',
      lockHolder: null,
    },
    resources: { cpuPercent: 0.4, rssBytes: 84 * 1024 * 1024, uptimeSecs: 30, processes: 2 },
    checkedAt: Date.now(),
    ...patch,
  };
}

/** What core's feed sends: the changed checks, with their latencies for the sparklines. */
function batch(...events: HealthEvent[]): HealthBatch {
  return {
    events,
    latencies: events.flatMap((e) =>
      e.type === 'instance' ? [{ instance: e.instance, points: [e.checkOk ? e.latencyMs : null] }] : [],
    ),
  };
}

const states = [running('chat_main', 8000), running('chat_api', 8001), ...stoppedStates.slice(2)];

async function ready(): Promise<void> {
  render();
  await waitFor('[data-instance="chat_api"][data-status="running"]');
}

describe('health on the cards', () => {
  it('is green only for a running instance that answers with its own names', async () => {
    serve({ workspace_view: loadedView, instance_states: states });
    await ready();
    expect(card('chat_api').dataset.health).toBe('unknown');
    await emit('instance://health', batch({ type: 'instance', ...checked('chat_api') }));
    await waitFor('[data-instance="chat_api"] [data-testid="health"][data-verdict="healthy"]');
    expect(card('chat_api').classList.contains('card-ok')).toBe(true);
    expect(text('[data-testid="latency"]', card('chat_api'))).toBe('12 ms');
    expect(text('[data-testid="resources"]', card('chat_api'))).toBe('%0,4 CPU 84 MB bellek 2 süreç');
    expect(text('[data-testid="db-health"]', card('chat_api'))).toBe('Veritabanı 3 MB wal');
    expect(one('[data-testid="sparkline"] path', card('chat_api')).getAttribute('d')).toMatch(/^M/);
    // A stopped instance is not judged.
    expect(card('chat_websocket').dataset.health).toBe('off');
  });

  it('shows a name the instance reports differently as a finding on its card', async () => {
    serve({ workspace_view: loadedView, instance_states: states });
    await ready();
    await emit('instance://health', batch({
      type: 'instance',
      ...checked('chat_api', {
        mismatches: [
          {
            instance: 'chat_api',
            field: 'sessionCookie',
            expected: 'sessionid_chat_api',
            actual: 'sessionid',
            message: 'chat_api reports session cookie sessionid; expected sessionid_chat_api',
          },
        ],
      }),
    }));
    const mismatch = await waitFor('[data-instance="chat_api"] [data-testid="mismatch"]');
    expect(mismatch.textContent?.trim()).toBe('chat_api, oturum çerezi olarak sessionid döndürüyor; beklenen sessionid_chat_api');
    expect(one('[data-testid="health"]', card('chat_api')).dataset.verdict).toBe('mismatch');
    expect(card('chat_api').classList.contains('card-bad')).toBe(true);
    expect(card('chat_api').classList.contains('card-ok')).toBe(false);
  });

  it('shows migrations the instance has not applied, with why it answers 503, and applies them with one click', async () => {
    const calls = serve({
      workspace_view: loadedView,
      instance_states: states,
      migrate_instance: (args: Record<string, unknown>) => {
        const send = sender<string>(args.onLine as Channel<string>);
        send('Operations to perform:');
        send('  Applying contenttypes.0001_initial... OK');
        return { instance: 'chat_api', output: ['Operations to perform:', '  Applying contenttypes.0001_initial... OK'] };
      },
    });
    await ready();
    const error = '/health/ answered 503: migrations: 3 migrations not applied (contenttypes.0001_initial, …): kovan migrate chat_api';
    await emit('instance://health', batch({
      type: 'instance',
      ...checked('chat_api', {
        state: 'down',
        checkOk: false,
        httpStatus: 503,
        error,
        failure: { type: 'failing', status: 503, parts: ['migrations'] },
        reported: {
          status: 'failing',
          instance: 'chat_api',
          pid: 4001,
          django: '5.2',
          database: { vendor: 'sqlite', name: '/p/db_chat_api.sqlite3', ok: true, unapplied_migrations: 3 },
          cache: { backend: 'RedisCache', key_prefix: 'context7_chat_api', ok: true },
          session_cookie: 'sessionid_chat_api',
          csrf_cookie: 'csrftoken_chat_api',
          failures: [{ part: 'migrations', message: '3 migrations not applied' }],
          channels: null,
        },
      }),
    }));
    const row = await waitFor('[data-instance="chat_api"] [data-testid="migrations"]');
    expect(text('[data-testid="migrations-text"]', row)).toBe('3 migration uygulanmadı: sayfalar hata verebilir');
    // In the window's words; core's English sentence is the tooltip.
    expect(text('[data-testid="health-error"]', card('chat_api'))).toBe("503 döndü; sorunlu: migration'lar");
    expect(one('[data-testid="health-error"]', card('chat_api')).title).toBe(error);
    one('[data-testid="migrations-apply"]', row).click();
    await waitFor('[data-instance="chat_api"] [data-testid="migrations"][data-phase="done"]');
    expect(named(calls, 'migrate_instance').map((c) => c.args.instance)).toEqual(['chat_api']);
    expect(one('[data-testid="migrations-output"]', row).textContent).toBe(
      'Operations to perform:\n  Applying contenttypes.0001_initial... OK',
    );
    expect(card('chat_main').querySelector('[data-testid="migrations"]')).toBeNull();
  });

  it('turns red when a running instance stops answering, and notifies only when the window is not focused', async () => {
    serve({ workspace_view: loadedView, instance_states: states });
    // The notification plugin shows bubbles through the webview's Notification API.
    const shown: { title: string; body: string }[] = [];
    vi.stubGlobal(
      'Notification',
      class {
        static permission = 'granted';
        constructor(title: string, options: { body: string }) {
          shown.push({ title, body: options.body });
        }
      },
    );
    await ready();
    const focused = vi.spyOn(document, 'hasFocus').mockReturnValue(true);
    await emit('instance://health', batch({
      type: 'instance',
      ...checked('chat_api', {
        state: 'down',
        previous: 'up',
        checkOk: false,
        error: 'nothing listens on port 8001',
        failure: { type: 'nothingListens', port: 8001 },
      }),
    }));
    await waitFor('[data-instance="chat_api"][data-health="down"]');
    expect(card('chat_api').classList.contains('card-bad')).toBe(true);
    expect(text('[data-testid="health-error"]', card('chat_api'))).toBe('8001 portunda dinleyen yok');
    expect(shown).toEqual([]);

    focused.mockReturnValue(false);
    await emit('instance://health', batch({
      type: 'instance',
      ...checked('chat_main', { state: 'down', previous: 'up', checkOk: false, error: 'timed out after 1 s' }),
    }));
    await until(() => shown.length === 1, 'a notification');
    expect(shown[0].title).toBe('chat_main yanıt vermiyor');
    expect(shown[0].body).toContain('timed out after 1 s');

    // A crash notifies too; an instance that was already down does not again.
    await emit('instance://status', running('chat_api', 8001, { status: 'crashed', detail: 'killed by SIGKILL' }));
    await until(() => shown.length === 2, 'the crash notification');
    expect(shown[1]).toEqual({ title: 'chat_api çöktü', body: 'killed by SIGKILL' });
  });
});
