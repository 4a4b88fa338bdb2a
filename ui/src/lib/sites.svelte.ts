// What the window knows about its sites beyond their members' states: a site's start or stop under
// way, what went wrong with it, and the newest look at its front door. The door's own run state is
// in the runtime (its slot has the site's name); core decides every state.
import { SvelteMap } from 'svelte/reactivity';

import { ApiError, frontDoorHealth, startSite, stopSite, toApiError, type FrontDoorHealth } from './api';
import type { Runtime } from './runtime.svelte';
import { windowVisible } from './visibility.svelte';

export type SiteAction = 'start' | 'stop';

/** How often an open door is looked at. */
const LOOK_EVERY_MS = 5000;

export class Sites {
  readonly actions = new SvelteMap<string, SiteAction>();
  readonly errors = new SvelteMap<string, { action: SiteAction; error: ApiError }>();
  readonly doors = new SvelteMap<string, FrontDoorHealth>();
  #timers = new Map<string, ReturnType<typeof setInterval>>();

  constructor(private readonly runtime: Runtime) {}

  busy(site: string): boolean {
    return this.actions.has(site);
  }

  /** Members, then the front door once they answer; with `migrateFirst`, the shared database's
   * migrations are applied first (the user's yes to "migrations_pending"). */
  async start(site: string, migrateFirst?: boolean): Promise<void> {
    if (this.busy(site)) return;
    this.actions.set(site, 'start');
    this.errors.delete(site);
    try {
      for (const state of await startSite(site, migrateFirst)) this.runtime.apply(state);
    } catch (reason) {
      this.errors.set(site, { action: 'start', error: toApiError('start_site', reason) });
    } finally {
      this.actions.delete(site);
    }
    await this.runtime.refresh();
    await this.look(site);
  }

  /** The front door first, then the members. */
  async stop(site: string): Promise<void> {
    if (this.busy(site)) return;
    this.actions.set(site, 'stop');
    this.errors.delete(site);
    try {
      await stopSite(site);
    } catch (reason) {
      this.errors.set(site, { action: 'stop', error: toApiError('stop_site', reason) });
    } finally {
      this.actions.delete(site);
    }
    this.doors.delete(site);
    await this.runtime.refresh();
  }

  dismissError(site: string): void {
    this.errors.delete(site);
  }

  /** Ask the door once; a failed ask leaves the last answer, the same answer changes nothing. */
  async look(site: string): Promise<void> {
    try {
      const look = await frontDoorHealth(site);
      if (JSON.stringify(look) !== JSON.stringify(this.doors.get(site) ?? null)) this.doors.set(site, look);
    } catch {
      // Outside the window, or the workspace changed: nothing to show.
    }
  }

  /** Look at the door now and every few seconds while `open`; stop looking when it closes. */
  watch(site: string, open: boolean): void {
    const timer = this.#timers.get(site);
    if (open && timer === undefined) {
      void this.look(site);
      this.#timers.set(
        site,
        // Nobody sees a hidden window's door: no look until it is shown.
        setInterval(() => {
          if (windowVisible()) void this.look(site);
        }, LOOK_EVERY_MS),
      );
    } else if (!open && timer !== undefined) {
      clearInterval(timer);
      this.#timers.delete(site);
      this.doors.delete(site);
    }
  }

  dispose(): void {
    for (const timer of this.#timers.values()) clearInterval(timer);
    this.#timers.clear();
  }
}
