import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import { afterEach, describe, expect, it } from 'vitest';

import {
  ApiError,
  chooseFolder,
  exportEnvFiles,
  generatorPlan,
  generatorWrite,
  NO_BACKEND,
  reloadWorkspace,
  toApiError,
  workspaceView,
} from './api';
import { exportReport, generatorPlanFixture, generatorWriteReport, loadedView } from '../test/fixtures';

afterEach(() => {
  clearMocks();
});

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
      kind: 'error',
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
