import { emit } from '@tauri-apps/api/event';
import { describe, expect, it } from 'vitest';

import type { Supervision } from './lib/bindings/Supervision';
import { setLanguage } from './lib/i18n/index.svelte';
import { loadedView, stoppedStates } from './test/fixtures';
import { button, deferred, named, render, serve, target, text, waitFor } from './test/harness';

const observing: Supervision = { state: 'observing', by: 'kovan up, PID 4242' };

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
