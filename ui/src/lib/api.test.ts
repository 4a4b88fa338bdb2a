import { clearMocks, mockIPC } from '@tauri-apps/api/mocks';
import { afterEach, describe, expect, it } from 'vitest';

import { ApiError, NO_BACKEND, reloadWorkspace, toApiError, workspaceView } from './api';
import { loadedView } from '../test/fixtures';

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
});
