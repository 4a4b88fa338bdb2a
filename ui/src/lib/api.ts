// The window's only door to Kovan's backend: the one file that imports @tauri-apps/api (and its
// dialog plugin).
// Every function is typed with the bindings ts-rs generates from kovan-core, and every failure
// comes out as an ApiError with a readable message.
import { invoke } from '@tauri-apps/api/core';
import { open } from '@tauri-apps/plugin-dialog';

import type { Plan } from './bindings/Plan';
import type { WorkspaceView } from './bindings/WorkspaceView';
import type { WriteReport } from './bindings/WriteReport';

export type { WorkspaceView } from './bindings/WorkspaceView';
export type { WorkspaceOverview } from './bindings/WorkspaceOverview';
export type { WorkspaceFault } from './bindings/WorkspaceFault';
export type { InstanceCard } from './bindings/InstanceCard';
export type { InstanceStatus } from './bindings/InstanceStatus';
export type { PresetView } from './bindings/PresetView';
export type { Problem } from './bindings/Problem';
export type { Role } from './bindings/Role';
export type { CacheBackend } from './bindings/CacheBackend';
export type { DerivedNames } from './bindings/DerivedNames';
export type { Plan } from './bindings/Plan';
export type { PlannedFile } from './bindings/PlannedFile';
export type { FileStatus } from './bindings/FileStatus';
export type { Purpose } from './bindings/Purpose';
export type { WriteReport } from './bindings/WriteReport';
export type { WrittenFile } from './bindings/WrittenFile';
export type { IpcError } from './bindings/IpcError';

/** The kind given to a failure when the page is not inside the Kovan window at all. */
export const NO_BACKEND = 'ipc_unavailable';

/** A failed command. `kind` is the backend's stable error kind (`{kind, message}` over IPC). */
export class ApiError extends Error {
  readonly kind: string;
  readonly command: string;

  constructor(kind: string, message: string, command: string) {
    super(message);
    this.name = 'ApiError';
    this.kind = kind;
    this.command = command;
  }
}

/** Whether Tauri's IPC bridge is present (it is not when ui/dist is opened in a plain browser). */
function hasBackend(): boolean {
  if (typeof window === 'undefined') return false;
  const internals = (window as { __TAURI_INTERNALS__?: { invoke?: unknown } }).__TAURI_INTERNALS__;
  return typeof internals?.invoke === 'function';
}

function field(value: unknown, name: string): unknown {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[name] : undefined;
}

/** Turn whatever an invoke rejected with into an ApiError. */
export function toApiError(command: string, reason: unknown): ApiError {
  if (reason instanceof ApiError) return reason;
  if (!hasBackend()) {
    return new ApiError(
      NO_BACKEND,
      `Kovan's backend is not available here (\`${command}\` cannot be called outside the Kovan window).`,
      command,
    );
  }
  const kindField = field(reason, 'kind');
  const kind = typeof kindField === 'string' && kindField !== '' ? kindField : 'error';
  let message: string;
  const messageField = field(reason, 'message');
  if (typeof reason === 'string') {
    message = reason;
  } else if (typeof messageField === 'string') {
    message = messageField;
  } else {
    try {
      message = JSON.stringify(reason) ?? String(reason);
    } catch {
      message = String(reason);
    }
  }
  message = message.trim();
  if (message === '') message = `\`${command}\` failed without a message.`;
  return new ApiError(kind, message, command);
}

async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (reason) {
    throw toApiError(command, reason);
  }
}

/** The workspace the app opened: loaded (instances, presets, derived names) or why not. */
export function workspaceView(): Promise<WorkspaceView> {
  return call<WorkspaceView>('workspace_view');
}

/** Read kovan.toml from disk again and return the new view. */
export function reloadWorkspace(): Promise<WorkspaceView> {
  return call<WorkspaceView>('reload_workspace');
}

/** Every file the generator would write, compared with what is on disk (secrets masked). */
export function generatorPlan(): Promise<Plan> {
  return call<Plan>('generator_plan');
}

/** Write the files with these paths (relative to the Django root). Files the user edited are backed
 * up first; the report names each backup. */
export function generatorWrite(paths: string[]): Promise<WriteReport> {
  return call<WriteReport>('generator_write', { paths });
}

/** Write each instance's env file into `dir` (mode 0600), backing up a different file already there. */
export function exportEnvFiles(dir: string): Promise<WriteReport> {
  return call<WriteReport>('export_env_files', { dir });
}

/** Ask the user for a folder with the system's picker; null when they cancel. */
export async function chooseFolder(title: string): Promise<string | null> {
  const command = 'plugin:dialog|open';
  try {
    const chosen: unknown = await open({ directory: true, multiple: false, title });
    if (typeof chosen === 'string' && chosen !== '') return chosen;
    return null;
  } catch (reason) {
    throw toApiError(command, reason);
  }
}
