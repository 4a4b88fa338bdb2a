import { mockIPC } from '@tauri-apps/api/mocks';
import { describe, expect, it } from 'vitest';

import { instanceState, loadedView, stoppedStates } from '../test/fixtures';
import { deferred } from '../test/harness';
import type { InstanceState } from './api';
import { Runtime } from './runtime.svelte';

const instances = loadedView.state === 'loaded' ? loadedView.instances : [];

describe('Runtime', () => {
  it('keeps a state that changed while instance_states was on its way', async () => {
    const answer = deferred<InstanceState[]>();
    mockIPC((cmd) => (cmd === 'instance_states' ? answer.promise : null));
    const runtime = new Runtime();
    runtime.setWorkspace(instances);
    const refreshed = runtime.refresh();
    runtime.apply(instanceState('chat_api', 8001, { status: 'starting', pid: 9 }));
    answer.resolve(stoppedStates);
    await refreshed;
    expect(runtime.states.get('chat_api')?.status).toBe('starting');
    expect(runtime.states.get('chat_main')?.status).toBe('stopped');
    expect(runtime.anyLive).toBe(true);
    expect(runtime.anyRunning).toBe(false);
  });

  it('suggests port + 1 for a conflict without core’s next free port, and clears it on success', async () => {
    let attempt = 0;
    mockIPC((cmd) => {
      if (cmd !== 'start_instance') return null;
      attempt++;
      if (attempt === 1)
        throw {
          kind: 'port_in_use',
          message: 'chat_api: port 8001 is taken by PID 5.',
          detail: { type: 'portInUse', instance: 'chat_api', port: 8001, holder: null, lostInstance: false, nextFree: null },
        };
      return instanceState('chat_api', 8009, { status: 'running', pid: 10, startedAt: Date.now() });
    });
    const runtime = new Runtime();
    runtime.setWorkspace(instances);
    await runtime.start('chat_api');
    expect(runtime.conflicts.get('chat_api')?.suggestedPort).toBe(8002);
    expect(runtime.errors.has('chat_api')).toBe(false);
    await runtime.start('chat_api', 8009);
    expect(runtime.conflicts.has('chat_api')).toBe(false);
    expect(runtime.states.get('chat_api')?.port).toBe(8009);
    expect(runtime.busy('chat_api')).toBe(false);
  });
});
