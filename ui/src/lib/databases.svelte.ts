// What the window knows about the instances' databases: size, who has each open, whether a
// snapshot waits. Core measures; this asks when something changed (an instance started or
// stopped, a reset, clone or restore), never on a per-second timer.
import { ApiError, databaseStatus, toApiError, type DatabaseStatus } from './api';

export class Databases {
  rows = $state<DatabaseStatus[] | null>(null);
  /** Why the last look failed (PostgreSQL down, no backend). */
  error = $state<ApiError | null>(null);
  #asking = false;
  #again = false;

  /** Look again; a look asked for while one runs is made once it ends. */
  async refresh(): Promise<void> {
    if (this.#asking) {
      this.#again = true;
      return;
    }
    this.#asking = true;
    try {
      do {
        this.#again = false;
        try {
          const rows = await databaseStatus();
          if (JSON.stringify(rows) !== JSON.stringify(this.rows)) this.rows = rows;
          this.error = null;
        } catch (reason) {
          this.error = toApiError('database_status', reason);
        }
      } while (this.#again);
    } finally {
      this.#asking = false;
    }
  }

  /** One instance's database, once known. */
  of(instance: string): DatabaseStatus | null {
    return this.rows?.find((r) => r.instance === instance) ?? null;
  }

  /** The other units' databases, one row per unit: what a clone can copy from. */
  sourcesFor(instance: string): DatabaseStatus[] {
    const own = this.of(instance)?.unit;
    const seen = new Set<string>();
    return (this.rows ?? []).filter((r) => {
      if (r.unit === own || r.notKovans !== null || seen.has(r.unit)) return false;
      seen.add(r.unit);
      return true;
    });
  }

  /** Forget (another workspace was loaded). */
  reset(): void {
    this.rows = null;
    this.error = null;
  }
}
