// The window's only door to Kovan's backend: the one file that imports @tauri-apps/api (and its
// dialog and notification plugins): commands, the `instance://status`, `instance://health` and
// `cache://progress` events and the log channel.
// Every function is typed with the bindings ts-rs generates from kovan-core, and every failure
// comes out as an ApiError with a readable message.
import { Channel, invoke } from '@tauri-apps/api/core';
import { listen } from '@tauri-apps/api/event';
import { open } from '@tauri-apps/plugin-dialog';
import { isPermissionGranted, requestPermission, sendNotification } from '@tauri-apps/plugin-notification';

import type { CacheCounts } from './bindings/CacheCounts';
import { isErrorKind, NO_BACKEND, type ErrorDetail, type ErrorKind, type Failure } from './errors';
import type { CacheProgress } from './bindings/CacheProgress';
import type { DiagnosticLog } from './bindings/DiagnosticLog';
import type { EventRecord } from './bindings/EventRecord';
import type { Finding } from './bindings/Finding';
import type { FixAction } from './bindings/FixAction';
import type { HealthBatch } from './bindings/HealthBatch';
import type { HealthSample } from './bindings/HealthSample';
import type { InstanceHealth } from './bindings/InstanceHealth';
import type { StoreTrouble } from './bindings/StoreTrouble';
import type { Supervision } from './bindings/Supervision';
import type { Proposal } from './bindings/Proposal';
import type { FlushPreview } from './bindings/FlushPreview';
import type { FrontDoorHealth } from './bindings/FrontDoorHealth';
import type { FlushReport } from './bindings/FlushReport';
import type { UndoReport } from './bindings/UndoReport';
import type { KeyGroups } from './bindings/KeyGroups';
import type { FlushScope } from './bindings/FlushScope';
import type { FlushPart } from './bindings/FlushPart';
import type { InstallOutcome } from './bindings/InstallOutcome';
import type { DatabaseReport } from './bindings/DatabaseReport';
import type { DatabaseStatus } from './bindings/DatabaseStatus';
import type { InstanceState } from './bindings/InstanceState';
import type { LogLine } from './bindings/LogLine';
import type { MigrateOutcome } from './bindings/MigrateOutcome';
import type { Plan } from './bindings/Plan';
import type { RedisProbe } from './bindings/RedisProbe';
import type { StopReport } from './bindings/StopReport';
import type { WorkspaceView } from './bindings/WorkspaceView';
import type { WriteReport } from './bindings/WriteReport';

export type { WorkspaceView } from './bindings/WorkspaceView';
export type { WorkspaceOverview } from './bindings/WorkspaceOverview';
export type { WorkspaceFault } from './bindings/WorkspaceFault';
export type { InstanceCard } from './bindings/InstanceCard';
export type { DatabaseReport } from './bindings/DatabaseReport';
export type { DatabaseStatus } from './bindings/DatabaseStatus';
export type { Holder } from './bindings/Holder';
export type { CompanionView } from './bindings/CompanionView';
export type { InstanceState } from './bindings/InstanceState';
export type { RunStatus } from './bindings/RunStatus';
export type { RestartPolicy } from './bindings/RestartPolicy';
export type { LogLine } from './bindings/LogLine';
export type { Stream } from './bindings/Stream';
export type { StopReport } from './bindings/StopReport';
export type { RedisProbe } from './bindings/RedisProbe';
export type { EventRecord } from './bindings/EventRecord';
export type { PresetView } from './bindings/PresetView';
export type { SiteView } from './bindings/SiteView';
export type { SiteShare } from './bindings/SiteShare';
export type { RouteView } from './bindings/RouteView';
export type { FrontDoorHealth } from './bindings/FrontDoorHealth';
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
export type { ErrorDetail, ErrorKind, Failure } from './errors';
export type { CacheCounts } from './bindings/CacheCounts';
export type { DiagnosticLog } from './bindings/DiagnosticLog';
export type { AliasKeys } from './bindings/AliasKeys';
export type { SiteKeys } from './bindings/SiteKeys';
export type { CacheProgress } from './bindings/CacheProgress';
export type { CountProgress } from './bindings/CountProgress';
export type { FlushProgress } from './bindings/FlushProgress';
export type { FlushPreview } from './bindings/FlushPreview';
export type { FlushReport } from './bindings/FlushReport';
export type { SnapshotInfo } from './bindings/SnapshotInfo';
export type { UndoReport } from './bindings/UndoReport';
export type { KeyGroups } from './bindings/KeyGroups';
export type { KeyGroup } from './bindings/KeyGroup';
export type { FlushScope } from './bindings/FlushScope';
export type { FlushOutcome } from './bindings/FlushOutcome';
export type { InstanceFlush } from './bindings/InstanceFlush';
export type { InstancePart } from './bindings/InstancePart';
export type { FlushPart } from './bindings/FlushPart';
export type { InstanceKeys } from './bindings/InstanceKeys';
export type { KeyCount } from './bindings/KeyCount';
export type { RedisKeys } from './bindings/RedisKeys';
export type { HealthBatch } from './bindings/HealthBatch';
export type { HealthEvent } from './bindings/HealthEvent';
export type { HealthState } from './bindings/HealthState';
export type { HealthSample } from './bindings/HealthSample';
export type { InstanceHealth } from './bindings/InstanceHealth';
export type { RedisHealth } from './bindings/RedisHealth';
export type { Mismatch } from './bindings/Mismatch';
export type { NameField } from './bindings/NameField';
export type { Resources } from './bindings/Resources';
export type { DatabaseHealth } from './bindings/DatabaseHealth';
export type { Finding } from './bindings/Finding';
export type { FixAction } from './bindings/FixAction';
export type { Severity } from './bindings/Severity';
export type { StoreTrouble } from './bindings/StoreTrouble';
export type { Proposal } from './bindings/Proposal';
export type { Detection } from './bindings/Detection';

export { NO_BACKEND } from './errors';

/** A failed command: core's kind, its English sentence and the typed detail (lib/errors.ts words it). */
export class ApiError extends Error implements Failure {
  readonly kind: ErrorKind;
  readonly detail: ErrorDetail | null;
  readonly command: string;

  constructor(kind: ErrorKind, message: string, command: string, detail: ErrorDetail | null = null) {
    super(message);
    this.name = 'ApiError';
    this.kind = kind;
    this.detail = detail;
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
  // A kind this page does not know (an older window against a newer core) reads as a bug.
  const kind: ErrorKind = isErrorKind(kindField) ? kindField : 'internal';
  const detailField = field(reason, 'detail');
  const detail = typeof detailField === 'object' && detailField !== null ? (detailField as ErrorDetail) : null;
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
  return new ApiError(kind, message, command, detail);
}

const failureListeners = new Set<() => void>();

/** Call `onFailure` after any command failed (core kept its error in Kovan's log); returns the
 * function that stops it. */
export function onCommandFailed(onFailure: () => void): () => void {
  failureListeners.add(onFailure);
  return () => void failureListeners.delete(onFailure);
}

async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (reason) {
    if (command !== 'diagnostic_log') for (const onFailure of failureListeners) onFailure();
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

// ---- Processes ----------------------------------------------------------------------------------

/** The event core emits on every change of an instance's state (payload: InstanceState). */
export const INSTANCE_STATUS_EVENT = 'instance://status';
export const STORE_TROUBLE_EVENT = 'store://trouble';
export const SUPERVISION_EVENT = 'supervision://changed';

/** The name of the managed Redis server's state, beside the instances'. */
export const REDIS_SERVICE = 'redis-server';

/** Stops a listener; safe to call more than once. */
export type UnlistenFn = () => void;

/** Every instance's state now (plus "redis-server" when the workspace has [redis]). */
export function instanceStates(): Promise<InstanceState[]> {
  return call<InstanceState[]>('instance_states');
}

/** Call `onState` with every state change core reports, until the returned function is called. */
export function onInstanceStatus(onState: (state: InstanceState) => void): Promise<UnlistenFn> {
  return subscribe(INSTANCE_STATUS_EVENT, onState);
}

async function subscribe<T>(event: string, handler: (payload: T) => void): Promise<UnlistenFn> {
  const command = 'plugin:event|listen';
  let active = true;
  let unlisten: () => void;
  try {
    unlisten = await listen<T>(event, (e) => {
      if (active) handler(e.payload);
    });
  } catch (reason) {
    throw toApiError(command, reason);
  }
  return () => {
    if (!active) return;
    active = false;
    try {
      unlisten();
    } catch {
      // The window is going away or the backend is gone: nothing is listening any more either way.
    }
  };
}

/** Start one instance; resolves once it is ready (or has failed to start). `port` overrides kovan.toml's;
 * `migrateFirst`: the user said yes to applying the migrations a start refused ("migrations_pending"). */
export function startInstance(instance: string, port?: number, migrateFirst?: boolean): Promise<InstanceState> {
  return call<InstanceState>('start_instance', {
    instance,
    ...(port === undefined ? {} : { port }),
    ...(migrateFirst ? { migrateFirst } : {}),
  });
}

/** Stop one instance's whole process group: SIGTERM, then SIGKILL after the grace period. */
export function stopInstance(instance: string): Promise<StopReport> {
  return call<StopReport>('stop_instance', { instance });
}

/** Stop, then start again. */
export function restartInstance(instance: string): Promise<InstanceState> {
  return call<InstanceState>('restart_instance', { instance });
}

/** Stop the process holding the instance's port, but only when it is that instance left running
 * earlier; a foreign owner makes it reject with kind "port_in_use". */
export function stopLostInstance(instance: string): Promise<StopReport> {
  return call<StopReport>('stop_lost_instance', { instance });
}

/** Check every member, then start them in order; a failed check starts none ("preflight_failed"). */
export function startPreset(preset: string, migrateFirst?: boolean): Promise<InstanceState[]> {
  return call<InstanceState[]>('start_preset', migrateFirst ? { preset, migrateFirst } : { preset });
}

/** Start a site: its members (all checked first), then its front door once they answer. A door
 * that cannot open rejects with kind "front_door"; the members keep running. */
export function startSite(site: string, migrateFirst?: boolean): Promise<InstanceState[]> {
  return call<InstanceState[]>('start_site', migrateFirst ? { site, migrateFirst } : { site });
}

/** Stop a site: its front door first, then its members. */
export function stopSite(site: string): Promise<StopReport[]> {
  return call<StopReport[]>('stop_site', { site });
}

/** One look at a site's front door: nginx answers its probe, and the members it routes to. */
export function frontDoorHealth(site: string): Promise<FrontDoorHealth> {
  return call<FrontDoorHealth>('front_door_health', { site });
}

/** Stop every instance (and the managed Redis), in reverse order. */
export function stopAll(): Promise<StopReport[]> {
  return call<StopReport[]>('stop_all');
}

/**
 * Receive an instance's log: first its ring (up to 5000 lines), then batches of new lines.
 * The channel cannot be closed from the window; the returned function makes it drop what still comes.
 */
export async function subscribeLogs(instance: string, onLines: (lines: LogLine[]) => void): Promise<UnlistenFn> {
  let active = true;
  const channel = new Channel<LogLine[]>((lines) => {
    if (active) onLines(lines);
  });
  const stop = () => {
    active = false;
    channel.onmessage = () => {};
  };
  try {
    await invoke<null>('subscribe_logs', { instance, channel });
  } catch (reason) {
    stop();
    throw toApiError('subscribe_logs', reason);
  }
  return stop;
}

/**
 * Apply the instance's unapplied migrations (`manage.py migrate` under its environment); each line
 * of migrate's output reaches `onLine` as it is printed. Rejects with migrate's failure.
 */
export async function migrateInstance(instance: string, onLine: (line: string) => void): Promise<MigrateOutcome> {
  const onLineChannel = new Channel<string>((line) => onLine(line));
  return call<MigrateOutcome>('migrate_instance', { instance, onLine: onLineChannel });
}

/**
 * Install what the preflight found missing into the instance's interpreter (a virtualenv's only):
 * `<python> -m pip install <requirement>…`, never unasked. Each line of pip's output reaches
 * `onLine` as it is printed. Rejects with pip's failure, or a refusal (not a virtualenv).
 */
export async function installRequirements(
  instance: string,
  requirements: string[],
  onLine: (line: string) => void,
): Promise<InstallOutcome> {
  const onLineChannel = new Channel<string>((line) => onLine(line));
  return call<InstallOutcome>('install_requirements', { instance, requirements, onLine: onLineChannel });
}

/** Every instance's database: size, who has it open, whether a snapshot can be restored. */
export function databaseStatus(): Promise<DatabaseStatus[]> {
  return call<DatabaseStatus[]>('database_status');
}

/**
 * Snapshot, empty and migrate the database of `instance`'s unit; migrate's lines reach `onLine`
 * as they come. Refused while anybody has the database open (naming who), and on a database Kovan
 * did not create.
 */
export async function databaseReset(instance: string, onLine: (line: string) => void): Promise<DatabaseReport> {
  const onLineChannel = new Channel<string>((line) => onLine(line));
  return call<DatabaseReport>('database_reset', { instance, onLine: onLineChannel });
}

/** Put back the database of `instance`'s unit as its last snapshot (taken by a reset or clone) holds it. */
export function databaseRestore(instance: string): Promise<DatabaseReport> {
  return call<DatabaseReport>('database_restore', { instance });
}

/** Replace `target`'s database with a copy of `source`'s; a snapshot of the target is taken first. */
export function databaseClone(target: string, source: string): Promise<DatabaseReport> {
  return call<DatabaseReport>('database_clone', { target, source });
}

/** PING latency and DBSIZE of the workspace's Redis; null when it does not answer (or there is none). */
export function redisProbe(): Promise<RedisProbe | null> {
  return call<RedisProbe | null>('redis_probe');
}

/** Where the window's own log file is, and the last warning or error it holds. */
export function diagnosticLog(): Promise<DiagnosticLog> {
  return call<DiagnosticLog>('diagnostic_log');
}

/** Whether closing the window leaves the instances running (off: Kovan stops what it started). */
export function setLeaveRunning(leave: boolean): Promise<void> {
  return call<void>('set_leave_running', { leave });
}

// ---- Caches -------------------------------------------------------------------------------------

/** The event a running count or flush reports its progress with (payload: CacheProgress). */
export const CACHE_PROGRESS_EVENT = 'cache://progress';

/** Every instance's key count (Redis in one SCAN pass); null when a count is already running. */
export function cacheCounts(): Promise<CacheCounts | null> {
  return call<CacheCounts | null>('cache_counts');
}

/** Count what flushing `part` of `scope`'s caches would delete (cache: sessions kept; sessions; all;
 * a key pattern), and what stays. Rejects with kind "bad_glob" for a pattern that cannot be meant. */
export function flushPreviewPart(
  scope: FlushScope,
  part: FlushPart,
  aliases: string[] = [],
): Promise<FlushPreview> {
  // Every alias when none is named: the argument is left out then.
  return call<FlushPreview>('flush_preview_part', aliases.length > 0 ? { scope, part, aliases } : { scope, part });
}

/** The instance's Redis keys by group, in one pass (the inspector; `kovan keys NAME --groups`). */
export function keyGroups(instance: string): Promise<KeyGroups> {
  return call<KeyGroups>('key_groups', { instance });
}

/** Count what flushing `scope` would delete, and what stays: shown before the user confirms. */
export function flushPreview(scope: FlushScope): Promise<FlushPreview> {
  return call<FlushPreview>('flush_preview', { scope });
}

/** Delete the previewed scope's keys; resolves with what went, also when cancelled part-way.
 * Rejects with kind "flush_running" while another flush runs. */
export function flushCache(preview: FlushPreview): Promise<FlushReport> {
  return call<FlushReport>('flush_cache', { preview });
}

/** Put back the Redis keys of flush `id` from its snapshot; never over a key written since. */
export function undoFlush(id: string): Promise<UndoReport> {
  return call<UndoReport>('undo_flush', { id });
}

/** Stop the running flush after its current batch; false when none runs. */
export function cancelFlush(): Promise<boolean> {
  return call<boolean>('cancel_flush');
}

/** Call `onProgress` with every count and flush progress report, until the returned function is called. */
export function onCacheProgress(onProgress: (progress: CacheProgress) => void): Promise<UnlistenFn> {
  return subscribe(CACHE_PROGRESS_EVENT, onProgress);
}

// ---- Health, history, doctor --------------------------------------------------------------------

/** The event core's health feed sends with what changed on the cards (payload: HealthBatch): at
 * most twice a second, live figures every 10 s (60 s unfocused), none while the window is hidden. */
export const INSTANCE_HEALTH_EVENT = 'instance://health';

/** Call `onBatch` with every batch of health changes, until the returned function is called. */
export function onHealthBatch(onBatch: (batch: HealthBatch) => void): Promise<UnlistenFn> {
  return subscribe(INSTANCE_HEALTH_EVENT, onBatch);
}

/** Tell the shell whether the page is visible: a hidden window is sent no per-second figures. */
export function setWindowVisible(visible: boolean): Promise<void> {
  return call<void>('set_window_visible', { visible });
}

/** The poller's last check of every instance checked so far. */
export function healthLatest(): Promise<InstanceHealth[]> {
  return call<InstanceHealth[]>('health_latest');
}

/** An instance's newest `limit` health samples, oldest first (its sparkline). */
export function healthSamples(instance: string, limit: number): Promise<HealthSample[]> {
  return call<HealthSample[]>('health_samples', { instance, limit });
}

/** The timeline: newest first; `instance` null means every instance, `kinds` empty every kind. */
export function eventHistory(instance: string | null, kinds: string[], limit: number): Promise<EventRecord[]> {
  return call<EventRecord[]>('event_history', { instance, kinds, limit });
}

/** The isolation doctor's findings now, errors first. */
export function doctorFindings(): Promise<Finding[]> {
  return call<Finding[]>('doctor_findings');
}

/** Make a finding's one-click fix; resolves with what was done (English, for the log). */
export function applyFix(action: FixAction): Promise<string> {
  return call<string>('apply_fix', { action });
}

/** What is wrong with Kovan's history database now (cannot be opened or written, or a damaged file
 * was moved aside at start); null when nothing is. */
export function storeNotice(): Promise<StoreTrouble | null> {
  return call<StoreTrouble | null>('store_notice');
}

/** Call `onTrouble` with each store failure as it happens, until the returned function is called. */
export function onStoreTrouble(onTrouble: (trouble: StoreTrouble) => void): Promise<UnlistenFn> {
  return subscribe(STORE_TROUBLE_EVENT, onTrouble);
}

/** Whether this window supervises its workspace, or only looks while another program does. */
export function supervision(): Promise<Supervision> {
  return call<Supervision>('supervision');
}

/** Ask the program supervising the workspace to hand it over (nothing running stops); resolves
 * with the workspace as the window now supervises it. */
export function takeOver(): Promise<WorkspaceView> {
  return call<WorkspaceView>('take_over');
}

/** Call `onChange` each time the window begins or stops supervising, until the returned function is called. */
export function onSupervision(onChange: (now: Supervision) => void): Promise<UnlistenFn> {
  return subscribe(SUPERVISION_EVENT, onChange);
}

/** Show a desktop notification; asks for permission the first time. Never throws: a missing
 * notification daemon only means no bubble. */
export async function notify(title: string, body: string): Promise<boolean> {
  if (!hasBackend()) return false;
  try {
    let granted = await isPermissionGranted();
    if (!granted) granted = (await requestPermission()) === 'granted';
    if (granted) sendNotification({ title, body });
    return granted;
  } catch {
    return false;
  }
}

// ---- Workspaces ---------------------------------------------------------------------------------

/** Open another kovan.toml (or its folder). What the current workspace runs stops first unless
 * "leave running" is on. */
export function openWorkspace(path: string): Promise<WorkspaceView> {
  return call<WorkspaceView>('open_workspace', { path });
}

/** The kovan.toml files opened lately, most recent first. */
export function recentWorkspaces(): Promise<string[]> {
  return call<string[]>('recent_workspaces');
}

/** Detect the Django project in `folder` (Kovan asks Django itself) and propose a kovan.toml. */
export function proposeWorkspace(folder: string): Promise<Proposal> {
  return call<Proposal>('propose_workspace', { folder });
}

/** Write the proposed kovan.toml into `folder` (never over an existing one) and open it. */
export function createWorkspace(folder: string): Promise<WorkspaceView> {
  return call<WorkspaceView>('create_workspace', { folder });
}

/** Tell the shell the window's language, for the tray menu. */
export function tellLanguage(language: string): Promise<void> {
  return call<void>('set_language', { language });
}
