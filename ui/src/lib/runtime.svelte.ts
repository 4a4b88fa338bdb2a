// What the window knows about running processes: each instance's state (from instance_states, then
// every `instance://status` event), what the user has asked for and is waiting on, and what went wrong.
// Core decides every state; this only remembers the newest one and calls the commands.
import { SvelteMap, SvelteSet } from 'svelte/reactivity';

import {
  ApiError,
  instanceStates,
  restartInstance,
  startInstance,
  startPreset,
  stopAll,
  stopInstance,
  stopLostInstance,
  toApiError,
  type InstanceCard,
  type InstanceState,
  type RunStatus,
} from './api';
import type { Supervision } from './bindings/Supervision';
import { isNoBackend, isPreflight, migrationsPending, portConflict } from './errors';
import type { MessageKey } from './i18n/index.svelte';

/** What a card is waiting on. Stop stays possible while a start waits for readiness. */
export type CardAction = 'start' | 'stop' | 'restart' | 'stopLost';

/** A start refused because the port is taken: core's error (its detail names the holder), and the port
 * the user may try instead. */
export interface PortConflict {
  error: ApiError;
  /** Prefilled into the port field: the next free port core found, else port + 1. */
  suggestedPort: number;
  /** Why "Stop it" was refused (a foreign owner), shown in the same panel. */
  stopError: ApiError | null;
}

/** A failed action of one card, other than a port conflict. */
export interface CardError {
  action: CardAction;
  error: ApiError;
}

/** A failure that concerns more than one card, shown in the banner above the cards. */
export interface BannerError {
  title: MessageKey;
  params?: Record<string, string | number>;
  error: ApiError;
  /** The yes to a start refused for migrations not applied (migrate = "ask"). */
  onmigrate?: () => void;
}

/** States in which an instance's processes exist (Stop all has something to do). */
const LIVE: readonly RunStatus[] = ['starting', 'running', 'stopping'];

export function isLive(status: RunStatus): boolean {
  return LIVE.includes(status);
}

/** Whether Start makes sense: nothing of the instance is running. */
export function canStart(status: RunStatus): boolean {
  return status === 'stopped' || status === 'crashed' || status === 'failedToStart';
}

/** Whether Stop makes sense. */
export function canStop(status: RunStatus): boolean {
  return status === 'starting' || status === 'running';
}

/** Whether Restart makes sense. */
export function canRestart(status: RunStatus): boolean {
  return status === 'running';
}

export class Runtime {
  /** The newest state of every instance (and "redis-server"), by name. */
  readonly states = new SvelteMap<string, InstanceState>();
  /** The start, restart or "stop it" a card waits on. */
  readonly actions = new SvelteMap<string, Exclude<CardAction, 'stop'>>();
  /** The cards whose Stop is under way. */
  readonly stopping = new SvelteSet<string>();
  readonly conflicts = new SvelteMap<string, PortConflict>();
  readonly errors = new SvelteMap<string, CardError>();
  banner = $state<BannerError | null>(null);
  /** The preset being started. */
  presetStarting = $state<string | null>(null);
  stoppingAll = $state(false);
  /** Whether the window supervises its workspace or only watches (the banner keeps it current):
   * while it watches, core refuses every start and stop, and the buttons say so. */
  supervision = $state<Supervision>({ state: 'supervising' });
  /** Who supervises while the window only watches ("kovan up, PID 4242"); null when it supervises. */
  readonly watchedBy = $derived(this.supervision.state === 'observing' ? this.supervision.by : null);
  /** Wall clock for uptimes; App advances it every second while something runs. */
  now = $state(Date.now());

  /** kovan.toml's port per instance, for a conflict's suggested port. */
  #ports = new Map<string, number>();
  // Only the newest instance_states answer may replace the map, and not for instances that changed
  // while it was on its way (their state from the event or command is newer).
  #latest = 0;
  #changedSince = new Set<string>();

  /** Something runs (or is starting or stopping): Stop all is enabled and uptimes tick. */
  readonly anyLive = $derived([...this.states.values()].some((s) => isLive(s.status)));
  readonly anyRunning = $derived([...this.states.values()].some((s) => s.status === 'running'));

  /** Remember the loaded workspace's instances (their ports) after a load or reload. */
  setWorkspace(instances: InstanceCard[]): void {
    this.#ports = new Map(instances.map((i) => [i.name, i.port]));
    for (const name of [...this.conflicts.keys()]) if (!this.#ports.has(name)) this.conflicts.delete(name);
    for (const name of [...this.errors.keys()]) if (!this.#ports.has(name)) this.errors.delete(name);
  }

  /** Take a state core reported (event or command answer). */
  apply(state: InstanceState): void {
    this.now = Date.now();
    this.#changedSince.add(state.instance);
    this.states.set(state.instance, state);
  }

  /** Read every state again (after a load, a reload, or a stop). */
  async refresh(): Promise<void> {
    const request = ++this.#latest;
    this.#changedSince.clear();
    try {
      const states = await instanceStates();
      if (request !== this.#latest) return;
      this.now = Date.now();
      const names = new Set(states.map((s) => s.instance));
      for (const name of [...this.states.keys()]) if (!names.has(name)) this.states.delete(name);
      for (const state of states) {
        if (!this.#changedSince.has(state.instance)) this.states.set(state.instance, state);
      }
    } catch (reason) {
      if (request !== this.#latest) return;
      const error = toApiError('instance_states', reason);
      // Outside the app window the workspace panel already says there is no backend.
      if (!isNoBackend(error)) this.banner = { title: 'banner.statesFailed', error };
    }
  }

  /** Anything under way for this card. */
  busy(instance: string): boolean {
    return this.actions.has(instance) || this.stopping.has(instance);
  }

  /** The action whose button shows progress: a stop wins over the start it interrupts. */
  pending(instance: string): CardAction | null {
    return this.stopping.has(instance) ? 'stop' : (this.actions.get(instance) ?? null);
  }

  /** Start one instance, on `port` instead of kovan.toml's when given; with `migrateFirst`, its
   * database's migrations are applied first (the user's yes to "migrations_pending"). */
  async start(instance: string, port?: number, migrateFirst?: boolean): Promise<void> {
    if (this.busy(instance)) return;
    this.actions.set(instance, 'start');
    this.errors.delete(instance);
    try {
      this.apply(await startInstance(instance, port, migrateFirst));
      this.conflicts.delete(instance);
    } catch (reason) {
      this.#failed(instance, 'start', toApiError('start_instance', reason), port);
    } finally {
      this.actions.delete(instance);
    }
  }

  /** Stop one instance; allowed while its start still waits for readiness. */
  async stop(instance: string): Promise<void> {
    if (this.stopping.has(instance) || (this.actions.has(instance) && this.actions.get(instance) !== 'start')) return;
    this.stopping.add(instance);
    this.errors.delete(instance);
    this.conflicts.delete(instance);
    try {
      await stopInstance(instance);
    } catch (reason) {
      this.errors.set(instance, { action: 'stop', error: toApiError('stop_instance', reason) });
    } finally {
      this.stopping.delete(instance);
    }
    // Events say the same; reading the states again keeps the card right if one was missed.
    await this.refresh();
  }

  async restart(instance: string): Promise<void> {
    if (this.busy(instance)) return;
    this.actions.set(instance, 'restart');
    this.errors.delete(instance);
    this.conflicts.delete(instance);
    try {
      this.apply(await restartInstance(instance));
    } catch (reason) {
      this.#failed(instance, 'restart', toApiError('restart_instance', reason));
    } finally {
      this.actions.delete(instance);
    }
  }

  /** "Stop it" in a port conflict: core stops the owner only if it is this instance, lost earlier;
   * then start the instance again. A refusal stays in the conflict panel. */
  async stopLostThenStart(instance: string): Promise<void> {
    if (this.busy(instance)) return;
    const conflict = this.conflicts.get(instance);
    this.actions.set(instance, 'stopLost');
    if (conflict) this.conflicts.set(instance, { ...conflict, stopError: null });
    let stopped = false;
    try {
      await stopLostInstance(instance);
      stopped = true;
    } catch (reason) {
      const error = toApiError('stop_lost_instance', reason);
      const current = this.conflicts.get(instance);
      if (current) this.conflicts.set(instance, { ...current, stopError: error });
      else this.errors.set(instance, { action: 'stopLost', error });
    } finally {
      this.actions.delete(instance);
    }
    if (stopped) await this.start(instance);
  }

  dismissConflict(instance: string): void {
    this.conflicts.delete(instance);
  }

  dismissError(instance: string): void {
    this.errors.delete(instance);
  }

  async startPreset(preset: string, migrateFirst?: boolean): Promise<void> {
    if (this.presetStarting !== null || this.stoppingAll) return;
    this.presetStarting = preset;
    this.banner = null;
    try {
      for (const state of await startPreset(preset, migrateFirst)) this.apply(state);
    } catch (reason) {
      const error = toApiError('start_preset', reason);
      this.banner =
        isPreflight(error)
          ? { title: 'banner.preflight', params: { name: preset }, error }
          : {
              title: 'banner.presetFailed',
              params: { name: preset },
              error,
              onmigrate: migrationsPending(error) ? () => void this.startPreset(preset, true) : undefined,
            };
    } finally {
      this.presetStarting = null;
    }
  }

  async stopAll(): Promise<void> {
    if (this.stoppingAll) return;
    this.stoppingAll = true;
    this.banner = null;
    try {
      await stopAll();
      this.conflicts.clear();
    } catch (reason) {
      this.banner = { title: 'banner.stopAllFailed', error: toApiError('stop_all', reason) };
    } finally {
      this.stoppingAll = false;
    }
    await this.refresh();
  }

  dismissBanner(): void {
    this.banner = null;
  }

  #failed(instance: string, action: CardAction, error: ApiError, port?: number): void {
    const conflict = portConflict(error);
    if (conflict) {
      const tried = port ?? this.#ports.get(instance) ?? this.states.get(instance)?.port ?? conflict.port;
      this.conflicts.set(instance, {
        error,
        suggestedPort: conflict.nextFree ?? Math.min(tried + 1, 65535),
        stopError: null,
      });
      this.errors.delete(instance);
    } else {
      this.conflicts.delete(instance);
      this.errors.set(instance, { action, error });
    }
  }
}
