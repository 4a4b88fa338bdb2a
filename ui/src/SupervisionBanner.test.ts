import { emit } from '@tauri-apps/api/event';
import { describe, expect, it } from 'vitest';

import type { InstanceState } from './lib/bindings/InstanceState';
import type { Supervision } from './lib/bindings/Supervision';
import type { WorkspaceView } from './lib/bindings/WorkspaceView';
import { setLanguage } from './lib/i18n/index.svelte';
import { loadedView, stoppedStates } from './test/fixtures';
import { all, button, card, deferred, named, render, serve, target, text, until, waitFor } from './test/harness';

const observing: Supervision = { state: 'observing', by: 'kovan up, PID 4242' };

const loaded = loadedView as Extract<WorkspaceView, { state: 'loaded' }>;
const withSite: WorkspaceView = {
  ...loaded,
  sites: [
    {
      name: 'chat',
      instances: ['chat_main', 'chat_api'],
      frontDoor: 8080,
      url: 'http://127.0.0.1:8080/',
      routes: [
        { prefix: '/api/', role: 'api', members: ['chat_api'] },
        { prefix: '/', role: 'main', members: ['chat_main'] },
      ],
      companions: [],
      shares: [],
    },
  ],
};
// chat_main runs (Stop and Restart would be enabled), chat_api and chat_websocket are stopped.
const someRunning: InstanceState[] = stoppedStates.map((s) =>
  s.instance === 'chat_main' ? { ...s, status: 'running', pid: 4300, startedAt: Date.now() - 5000 } : s,
);

describe('the supervision banner', () => {
  it('says who supervises, in both languages, and takes over on a click', async () => {
    const handOver = deferred<unknown>();
    const calls = serve({
      workspace_view: loadedView,
      supervision: observing,
      take_over: () => handOver.promise,
    });
    render();
    const banner = await waitFor('[data-testid="supervision-banner"]');
    expect(text('[data-testid="supervision-by"]', banner)).toBe('Bu çalışma alanını kovan up, PID 4242 yönetiyor');
    setLanguage('en');
    await waitFor('[data-testid="supervision-banner"]');
    expect(text('[data-testid="supervision-by"]')).toBe('kovan up, PID 4242 supervises this workspace');
    expect(text('[data-testid="supervision-banner"]')).toContain('Taking over stops nothing that runs');
    button('take-over').click();
    await waitFor('[data-testid="take-over"]:disabled');
    expect(text('[data-testid="take-over"]')).toBe('Taking over…');
    expect(named(calls, 'take_over')).toHaveLength(1);
    handOver.resolve(loadedView);
    await waitFor('[data-testid="instance-card"]');
    await waitFor('main');
    expect(target.querySelector('[data-testid="supervision-banner"]')).toBeNull();
    setLanguage('tr');
  });

  it('disables every start and stop while the window watches, saying who supervises, and enables them once it supervises', async () => {
    const calls = serve({ workspace_view: withSite, supervision: observing, instance_states: someRunning });
    render();
    await waitFor('[data-testid="supervision-banner"]');
    await until(() => card('chat_main').dataset.status === 'running', 'chat_main running');
    const tr = 'Bu çalışma alanını kovan up, PID 4242 yönetiyor; pencere yalnızca izliyor. Başlatmak ya da durdurmak için yönetimi devralın.';
    const en = 'kovan up, PID 4242 supervises this workspace; the window only watches. Take over to start or stop.';
    const refused = () => [
      button('stop', card('chat_main')),
      button('restart', card('chat_main')),
      button('start', card('chat_api')),
      button('start', card('chat_websocket')),
      button('site-start'),
      button('site-stop'),
      button('stop-all'),
      ...(all('[data-testid="preset-start"]') as HTMLButtonElement[]),
    ];
    expect(refused()).toHaveLength(9);
    for (const b of refused()) {
      expect(b.disabled, b.dataset.testid).toBe(true);
      expect(b.title, b.dataset.testid).toBe(tr);
    }
    // Logs and Cache Temizle stay: they change nothing that runs.
    expect(button('logs', card('chat_main')).disabled).toBe(false);
    setLanguage('en');
    await until(() => button('site-start').title === en, 'English tooltips');
    for (const b of refused()) expect(b.title, b.dataset.testid).toBe(en);
    for (const b of refused()) b.click();
    expect(calls.filter((c) => /^(start|stop|restart)_/.test(c.cmd))).toEqual([]);

    await emit('supervision://changed', { state: 'supervising' } satisfies Supervision);
    await until(() => !button('site-start').disabled, 'site start enabled');
    for (const b of refused()) {
      expect(b.disabled, b.dataset.testid).toBe(false);
      expect(b.title, b.dataset.testid).not.toBe(en);
    }
    expect(button('start', card('chat_api')).title).toBe('Starts it and waits until /health/ answers.');
    setLanguage('tr');
  });

  it('says why a take-over failed and keeps the button', async () => {
    serve({
      workspace_view: loadedView,
      supervision: observing,
      take_over: () => {
        throw {
          kind: 'not_handed_over',
          message: 'kovan up, PID 4242 did not hand this workspace over within 15 s',
          detail: { type: 'supervisor', by: 'kovan up, PID 4242' },
        };
      },
    });
    render();
    await waitFor('[data-testid="supervision-banner"]');
    button('take-over').click();
    const failure = await waitFor('[data-testid="supervision-failure"]');
    expect(failure.textContent).toContain('kovan up, PID 4242 çalışma alanını zamanında bırakmadı');
    expect(button('take-over').disabled).toBe(false);
  });

  it('appears when the window hands over and refreshes the cards', async () => {
    const calls = serve({ workspace_view: loadedView, instance_states: stoppedStates });
    render();
    await waitFor('[data-testid="instance-card"]');
    expect(target.querySelector('[data-testid="supervision-banner"]')).toBeNull();
    const before = named(calls, 'instance_states').length;
    await emit('supervision://changed', { state: 'observing', by: 'kovan up, PID 5151' } satisfies Supervision);
    const banner = await waitFor('[data-testid="supervision-banner"]');
    expect(banner.textContent).toContain('kovan up, PID 5151');
    expect(named(calls, 'instance_states').length).toBeGreaterThan(before);
    await emit('supervision://changed', { state: 'supervising' } satisfies Supervision);
    await waitFor('[data-testid="instance-card"]');
    expect(target.querySelector('[data-testid="supervision-banner"]')).toBeNull();
  });
});
