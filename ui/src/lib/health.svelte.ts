// What the window knows about each instance's health: the poller's newest check (from
// health_latest, then every `instance://health` event), the Redis probe, and a short latency
// history for the cards' sparklines. Core decides up and down (with hysteresis); this only keeps
// the newest answer.
import { SvelteMap } from 'svelte/reactivity';

import {
  healthLatest,
  healthSamples,
  type HealthEvent,
  type InstanceHealth,
  type RedisHealth,
} from './api';

/** Points in a card's sparkline: a minute and a half at the poller's 2 s. */
export const SPARK_POINTS = 45;

export class Health {
  readonly instances = new SvelteMap<string, InstanceHealth>();
  /** Each instance's latest latencies in ms, oldest first; null where a check failed. */
  readonly latencies = new SvelteMap<string, (number | null)[]>();
  redis = $state<RedisHealth | null>(null);

  apply(event: HealthEvent): void {
    if (event.type === 'redis') {
      this.redis = event;
      return;
    }
    this.instances.set(event.instance, event);
    const points = [...(this.latencies.get(event.instance) ?? []), event.checkOk ? event.latencyMs : null];
    this.latencies.set(event.instance, points.slice(-SPARK_POINTS));
  }

  /** The poller's last checks and each instance's stored samples, after a (re)load. */
  async load(instances: string[]): Promise<void> {
    try {
      for (const health of await healthLatest()) this.instances.set(health.instance, health);
    } catch {
      // The next event (every 2 s) brings the same.
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
