// What the window knows about each instance's health: the poller's newest check (from
// health_latest, then core's batches of changes on `instance://health`), the Redis probe, and a
// short latency history for the cards' sparklines. Core decides up and down (with hysteresis) and
// sends only what changes on a card; this keeps the newest answer, and leaves the cards alone
// (no re-render) for a check equal to the one shown and while the window is hidden.
import { SvelteMap } from 'svelte/reactivity';

import {
  healthLatest,
  healthSamples,
  type HealthBatch,
  type HealthEvent,
  type InstanceHealth,
  type RedisHealth,
} from './api';
import { windowVisible } from './visibility.svelte';
import { formatNumber } from './format';
import { t } from './i18n/index.svelte';

/** Points in a card's sparkline: a minute and a half at the poller's 2 s. */
export const SPARK_POINTS = 45;

export class Health {
  readonly instances = new SvelteMap<string, InstanceHealth>();
  /** Each instance's latest latencies in ms, oldest first; null where a check failed. */
  readonly latencies = new SvelteMap<string, (number | null)[]>();
  redis = $state<RedisHealth | null>(null);

  /** One batch from core's feed. A hidden window draws nothing: it catches up when shown. */
  applyBatch(batch: HealthBatch): void {
    if (!windowVisible()) return;
    for (const event of batch.events) this.apply(event);
    for (const { instance, points } of batch.latencies) {
      if (points.length === 0) continue;
      this.latencies.set(instance, [...(this.latencies.get(instance) ?? []), ...points].slice(-SPARK_POINTS));
    }
  }

  /** One check; a check that shows the same as the one on the card changes nothing. */
  apply(event: HealthEvent): void {
    if (event.type === 'redis') {
      if (!sameShown(this.redis, event)) this.redis = event;
      return;
    }
    this.#set(event);
  }

  #set(health: InstanceHealth): void {
    if (!sameShown(this.instances.get(health.instance) ?? null, health)) this.instances.set(health.instance, health);
  }

  /** The window is visible again: the newest checks and each sparkline's stored points, in one step. */
  async catchUp(instances: string[]): Promise<void> {
    try {
      for (const health of await healthLatest()) this.#set(health);
    } catch {
      // The next batch brings the changes.
    }
    await Promise.all(
      instances.map(async (name) => {
        try {
          const samples = await healthSamples(name, SPARK_POINTS);
          this.latencies.set(
            name,
            samples.map((s) => (s.up && s.latencyMs !== null ? s.latencyMs : null)),
          );
        } catch {
          // No history (the store is off): the sparkline keeps what it had.
        }
      }),
    );
  }

  /** The poller's last checks and each instance's stored samples, after a (re)load. */
  async load(instances: string[]): Promise<void> {
    try {
      for (const health of await healthLatest()) this.#set(health);
    } catch {
      // The next batch brings what changes.
    }
    await Promise.all(
      instances.map(async (name) => {
        try {
          const samples = await healthSamples(name, SPARK_POINTS);
          // Events that arrived meanwhile are newer than the stored samples.
          const live = this.latencies.get(name) ?? [];
          const stored = samples.map((s) => (s.up && s.latencyMs !== null ? s.latencyMs : null));
          this.latencies.set(name, [...stored, ...live].slice(-SPARK_POINTS));
        } catch {
          // No history (the store is off): the sparkline fills from events.
        }
      }),
    );
  }

  reset(): void {
    this.instances.clear();
    this.latencies.clear();
    this.redis = null;
  }
}

/** Whether two checks show the same: when each was made, the state before and the group's uptime
 * are not on the card. */
function sameShown(a: object | null, b: object): boolean {
  if (a === null) return false;
  const shown = (x: object) => {
    const copy: Record<string, unknown> = { ...x };
    delete copy.type;
    delete copy.checkedAt;
    delete copy.previous;
    const resources = copy.resources;
    if (typeof resources === 'object' && resources !== null) copy.resources = { ...resources, uptimeSecs: 0 };
    return JSON.stringify(copy);
  };
  return shown(a) === shown(b);
}

/** What a card's health says, in one word: the instance answers and keeps its names, answers but
 * reports other names (not isolated), does not answer, or has not been checked yet. */
export type Verdict = 'healthy' | 'mismatch' | 'down' | 'unknown';

export function verdict(health: InstanceHealth | null): Verdict {
  if (health === null || health.state === 'unknown') return 'unknown';
  if (health.state === 'down') return 'down';
  return health.mismatches.length > 0 ? 'mismatch' : 'healthy';
}

/** The SVG path of a sparkline `width` x `height` through `points` (gaps where null). */
export function sparkPath(points: readonly (number | null)[], width: number, height: number): string {
  const values = points.filter((p): p is number => p !== null);
  if (values.length === 0) return '';
  const max = Math.max(...values, 1);
  const step = points.length > 1 ? width / (SPARK_POINTS - 1) : 0;
  const offset = width - step * (points.length - 1);
  let path = '';
  let pen = false;
  points.forEach((p, i) => {
    if (p === null) {
      pen = false;
      return;
    }
    const x = offset + i * step;
    const y = height - 1 - (p / max) * (height - 2);
    path += `${pen ? 'L' : 'M'}${x.toFixed(1)} ${y.toFixed(1)}`;
    pen = true;
  });
  return path;
}

/** Why a check failed, in the window's words (core's English sentence stays the tooltip); null
 * when it did not fail or an older core sent no typed failure. */
export function failureText(health: InstanceHealth | null): string | null {
  const failure = health?.failure;
  if (!failure) return null;
  switch (failure.type) {
    case 'timeout':
      return t('health.fail.timeout', { ms: formatNumber(failure.ms) });
    case 'nothingListens':
      return t('health.fail.nothingListens', { port: failure.port });
    case 'unreachable':
      return t('health.fail.unreachable');
    case 'noReport':
      return t('health.fail.noReport', { status: failure.status });
    case 'failing':
      return t('health.fail.failing', {
        status: failure.status,
        parts: failure.parts.map((part) => (isPart(part) ? t(`health.part.${part}`) : part)).join(', '),
      });
  }
}

const PARTS = ['database', 'cache', 'migrations', 'channels'] as const;
function isPart(part: string): part is (typeof PARTS)[number] {
  return (PARTS as readonly string[]).includes(part);
}
