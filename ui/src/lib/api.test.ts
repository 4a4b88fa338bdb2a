import type { Channel } from '@tauri-apps/api/core';
import { emit } from '@tauri-apps/api/event';
import { mockIPC } from '@tauri-apps/api/mocks';
import { describe, expect, it, vi } from 'vitest';

import {
  ApiError,
  chooseFolder,
  exportEnvFiles,
  generatorPlan,
  generatorWrite,
  installRequirements,
  instanceStates,
  NO_BACKEND,
  onInstanceStatus,
  eventHistory,
  redisProbe,
  reloadWorkspace,
  restartInstance,
  setLeaveRunning,
  startInstance,
  startPreset,
  stopAll,
  stopInstance,
  stopLostInstance,
  subscribeLogs,
  toApiError,
  workspaceView,
  type LogLine,
} from './api';
import {
  exportReport,
  generatorPlanFixture,
  generatorWriteReport,
  instanceState,
  loadedView,
  logLines,
  stoppedStates,
} from '../test/fixtures';

/** Send `message` down a channel the way the backend does (indexed, in order). */
function send(channel: Channel<LogLine[]>, index: number, message: LogLine[]): void {
  const internals = (window as unknown as { __TAURI_INTERNALS__: { runCallback: (id: number, data: unknown) => void } })
    .__TAURI_INTERNALS__;
  internals.runCallback(channel.id, { index, message });
}

describe('api', () => {
  it('calls workspace_view and reload_workspace', async () => {
    const calls: string[] = [];
    mockIPC((cmd) => {
      calls.push(cmd);
      return loadedView;
    });
    await expect(workspaceView()).resolves.toEqual(loadedView);
    await expect(reloadWorkspace()).resolves.toEqual(loadedView);
    expect(calls).toEqual(['workspace_view', 'reload_workspace']);
  });

  it('turns a {kind, message} rejection into an ApiError', async () => {
    mockIPC(() => {
      throw { kind: 'workspace_unreadable', message: 'kovan.toml: cannot be read (permission denied).' };
    });
    const error = await workspaceView().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({
      kind: 'workspace_unreadable',
      message: 'kovan.toml: cannot be read (permission denied).',
      command: 'workspace_view',
    });
  });

  it('turns a string rejection into an ApiError', async () => {
    mockIPC(() => Promise.reject('command reload_workspace not found'));
    await expect(reloadWorkspace()).rejects.toMatchObject({
      kind: 'internal',
      message: 'command reload_workspace not found',
    });
  });

  it('never produces an empty message', () => {
    mockIPC(() => null);
    expect(toApiError('workspace_view', { kind: 'x', message: '  ' }).message).toMatch(/workspace_view/);
    expect(toApiError('workspace_view', { unexpected: 1 }).message).toBe('{"unexpected":1}');
  });

  it('says so when there is no Tauri backend at all', async () => {
    const error = await workspaceView().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).kind).toBe(NO_BACKEND);
  });

  it('calls the generator commands with their arguments', async () => {
    const calls: [string, unknown][] = [];
    mockIPC((cmd, args) => {
      calls.push([cmd, args]);
      if (cmd === 'generator_plan') return generatorPlanFixture;
      if (cmd === 'generator_write') return generatorWriteReport;
      return exportReport;
    });
    await expect(generatorPlan()).resolves.toEqual(generatorPlanFixture);
    await expect(generatorWrite(['.env.chat_main', 'Procfile.kovan'])).resolves.toEqual(generatorWriteReport);
    await expect(exportEnvFiles('/home/dev/share')).resolves.toEqual(exportReport);
    expect(calls).toEqual([
      ['generator_plan', {}],
      ['generator_write', { paths: ['.env.chat_main', 'Procfile.kovan'] }],
      ['export_env_files', { dir: '/home/dev/share' }],
    ]);
  });

  it('asks the dialog plugin for one folder, and returns null when cancelled', async () => {
    const calls: [string, unknown][] = [];
    let answer: string | null = '/home/dev/share';
    mockIPC((cmd, args) => {
      calls.push([cmd, args]);
      return answer;
    });
    await expect(chooseFolder('Pick')).resolves.toBe('/home/dev/share');
    expect(calls).toEqual([['plugin:dialog|open', { options: { directory: true, multiple: false, title: 'Pick' } }]]);
    answer = null;
    await expect(chooseFolder('Pick')).resolves.toBeNull();
  });

  it('turns a failed folder picker into an ApiError', async () => {
    mockIPC(() => {
      throw 'dialog.open not allowed. Permissions associated with this command: dialog:allow-open';
    });
    await expect(chooseFolder('Pick')).rejects.toMatchObject({ name: 'ApiError', command: 'plugin:dialog|open' });
  });
});

describe('process commands', () => {
  it('calls each command with its arguments', async () => {
    const calls: [string, unknown][] = [];
    const running = instanceState('chat_main', 8000, { status: 'running', pid: 4242, startedAt: 1_700_000_000_000 });
    const report = { instance: 'chat_main', how: 'terminated', millis: 84 };
    mockIPC((cmd, args) => {
      calls.push([cmd, args]);
      switch (cmd) {
        case 'instance_states':
          return stoppedStates;
        case 'start_instance':
        case 'restart_instance':
          return running;
        case 'start_preset':
          return [running];
        case 'stop_all':
          return [report];
        case 'redis_probe':
          return { pingMs: 0.4, dbsize: 12 };
        case 'event_history':
          return [];
        case 'set_leave_running':
          return null;
        default:
          return report;
      }
    });
    await expect(instanceStates()).resolves.toEqual(stoppedStates);
    await expect(startInstance('chat_main')).resolves.toEqual(running);
    await expect(startInstance('chat_main', 8003)).resolves.toEqual(running);
    await expect(stopInstance('chat_main')).resolves.toEqual(report);
    await expect(restartInstance('chat_main')).resolves.toEqual(running);
    await expect(stopLostInstance('chat_main')).resolves.toEqual(report);
    await expect(startPreset('dev')).resolves.toEqual([running]);
    await expect(stopAll()).resolves.toEqual([report]);
    await expect(redisProbe()).resolves.toEqual({ pingMs: 0.4, dbsize: 12 });
    await expect(setLeaveRunning(true)).resolves.toBeNull();
    await expect(eventHistory(null, [], 20)).resolves.toEqual([]);
    expect(calls).toEqual([
      ['instance_states', {}],
      ['start_instance', { instance: 'chat_main' }],
      ['start_instance', { instance: 'chat_main', port: 8003 }],
      ['stop_instance', { instance: 'chat_main' }],
      ['restart_instance', { instance: 'chat_main' }],
      ['stop_lost_instance', { instance: 'chat_main' }],
      ['start_preset', { preset: 'dev' }],
      ['stop_all', {}],
      ['redis_probe', {}],
      ['set_leave_running', { leave: true }],
      ['event_history', { instance: null, kinds: [], limit: 20 }],
    ]);
  });

  it('keeps the backend’s error kind for a refused start', async () => {
    mockIPC(() => {
      throw { kind: 'port_in_use', message: 'chat_main: port 8000 is taken by PID 77 (nc -l 8000).' };
    });
    await expect(startInstance('chat_main')).rejects.toMatchObject({
      name: 'ApiError',
      kind: 'port_in_use',
      command: 'start_instance',
      message: 'chat_main: port 8000 is taken by PID 77 (nc -l 8000).',
    });
  });

  it('delivers instance://status payloads until unlistened', async () => {
    mockIPC(() => null, { shouldMockEvents: true });
    const seen: string[] = [];
    const unlisten = await onInstanceStatus((state) => seen.push(`${state.instance}:${state.status}`));
    await emit('instance://status', instanceState('chat_main', 8000, { status: 'starting' }));
    await emit('instance://status', instanceState('chat_main', 8000, { status: 'running' }));
    unlisten();
    unlisten();
    await emit('instance://status', instanceState('chat_main', 8000, { status: 'stopping' }));
    expect(seen).toEqual(['chat_main:starting', 'chat_main:running']);
  });

  it('rejects listening as an ApiError outside the app window', async () => {
    await expect(onInstanceStatus(() => {})).rejects.toMatchObject({ kind: NO_BACKEND });
  });

  it('subscribes to logs over a channel and drops batches after unsubscribing', async () => {
    let channel: Channel<LogLine[]> | null = null;
    const calls: [string, unknown][] = [];
    mockIPC((cmd, args) => {
      calls.push([cmd, args]);
      channel = (args as { channel: Channel<LogLine[]> }).channel;
      return null;
    });
    const onLines = vi.fn();
    const unsubscribe = await subscribeLogs('chat_api', onLines);
    expect(calls).toEqual([['subscribe_logs', { instance: 'chat_api', channel: expect.anything() }]]);
    expect(JSON.stringify(calls[0][1])).toMatch(/"channel":"__CHANNEL__:\d+"/);

    send(channel!, 0, logLines(3));
    send(channel!, 1, logLines(2, 4));
    expect(onLines).toHaveBeenCalledTimes(2);
    expect(onLines.mock.calls[1][0]).toEqual(logLines(2, 4));

    unsubscribe();
    send(channel!, 2, logLines(1, 6));
    expect(onLines).toHaveBeenCalledTimes(2);
  });

  it('installs the named requirements with pip output streamed, and turns a refusal into an ApiError', async () => {
    const calls: [string, Record<string, unknown>][] = [];
    mockIPC((cmd, args) => {
      const a = args as Record<string, unknown>;
      calls.push([cmd, a]);
      const channel = a.onLine as Channel<string>;
      const internals = (window as unknown as { __TAURI_INTERNALS__: { runCallback: (id: number, data: unknown) => void } })
        .__TAURI_INTERNALS__;
      internals.runCallback(channel.id, { index: 0, message: 'Collecting redis>=5' });
      internals.runCallback(channel.id, { index: 1, message: 'Successfully installed redis-5.2.1' });
      return { instance: 'chat_main', command: ".venv/bin/python -m pip install 'redis>=5'", output: [] };
    });
    const lines: string[] = [];
    const outcome = await installRequirements('chat_main', ['redis>=5'], (l) => lines.push(l));
    expect(calls).toEqual([
      ['install_requirements', { instance: 'chat_main', requirements: ['redis>=5'], onLine: expect.anything() }],
    ]);
    expect(lines).toEqual(['Collecting redis>=5', 'Successfully installed redis-5.2.1']);
    expect(outcome.command).toBe(".venv/bin/python -m pip install 'redis>=5'");

    mockIPC(() => {
      throw { kind: 'not_a_virtualenv', message: 'python3 is not a virtualenv’s interpreter', detail: { type: 'instance', instance: 'chat_main' } };
    });
    await expect(installRequirements('chat_main', ['redis>=5'], () => {})).rejects.toMatchObject({
      kind: 'not_a_virtualenv',
    });
  });

  it('turns a refused subscription into an ApiError', async () => {
    mockIPC(() => {
      throw { kind: 'unknown_instance', message: 'nope is not an instance of this workspace.' };
    });
    await expect(subscribeLogs('nope', () => {})).rejects.toMatchObject({
      kind: 'unknown_instance',
      command: 'subscribe_logs',
    });
  });
});
