// What the window knows about the instances' caches: the newest count (every card's keys and
// sessions, other apps' keys in the shared Redis) and whether a count is running. Core counts;
// this only asks, on demand and on a timer, and remembers the answer.
import {
  ApiError,
  cacheCounts,
  toApiError,
  type AliasKeys,
  type CacheCounts,
  type CountProgress,
  type KeyCount,
  type SiteKeys,
} from './api';

/** How often the cards' counts refresh while the window is open. */
export const REFRESH_EVERY_MS = 15_000;

export class Caches {
  counts = $state<CacheCounts | null>(null);
  /** A count this window asked for is on its way. */
  counting = $state(false);
  /** How far the running count's pass over Redis is (from `cache://progress`). */
  progress = $state<CountProgress | null>(null);
  /** Why the last count could not be asked for at all (an invalid workspace, no backend). */
  error = $state<ApiError | null>(null);

  /** Count again, unless this window's count is still on its way. */
  async refresh(): Promise<void> {
    if (!this.counting) await this.#ask();
  }

  /** Count again after a flush. A count that began before the flush has stale numbers, and core
   * skips a new one while it runs (answering null), so ask until a fresh count answers. */
  async refreshAfterFlush(): Promise<void> {
    for (let attempt = 0; attempt < 40; attempt++) {
      if (!this.counting && (await this.#ask())) return;
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  /** Ask core for a count; false when it skipped this one because another runs. */
  async #ask(): Promise<boolean> {
    this.counting = true;
    try {
      const counts = await cacheCounts();
      if (counts === null) return false;
      // The same numbers again (the 15 s timer, nothing written meanwhile): the cards stay as they are.
      if (JSON.stringify(counts) !== JSON.stringify(this.counts)) this.counts = counts;
      this.error = null;
      return true;
    } catch (reason) {
      this.error = toApiError('cache_counts', reason);
      return true;
    } finally {
      this.counting = false;
      this.progress = null;
    }
  }

  /** One instance's count, once known. */
  of(instance: string): KeyCount | null {
    return this.counts?.instances.find((i) => i.instance === instance)?.count ?? null;
  }

  /** One instance's other cache aliases (`[instance.caches.NAME]`), each with its count; empty
   * when it declares none or before the first count. */
  aliasesOf(instance: string): AliasKeys[] {
    return this.counts?.instances.find((i) => i.instance === instance)?.aliases ?? [];
  }

  /** A site's channel layer in the shared Redis, once counted (its keys null when not counted). */
  siteLayer(site: string): SiteKeys | null {
    return this.counts?.sites?.find((s) => s.site === site) ?? null;
  }

  /** Keys in the shared Redis database that belong to no instance, once counted. */
  otherApps(): number | null {
    const redis = this.counts?.redis;
    return redis?.state === 'counted' ? redis.otherApps : null;
  }

  /** Forget the counts (another workspace was loaded). */
  reset(): void {
    this.counts = null;
    this.error = null;
    this.progress = null;
  }
}

/** Whether "Cache Temizle" can do anything for this count, and if not, why (a message key). */
export function flushBlocker(count: KeyCount | null): 'cache.nothingCachedHint' | 'cache.notRunningHint' | null {
  if (count?.state === 'nothingCached') return 'cache.nothingCachedHint';
  if (count?.state === 'notRunning') return 'cache.notRunningHint';
  return null;
}
