// Every error the window shows is read here: one table keyed by core's ErrorKind (the compiler
// demands a row for each), worded in the window's language from the kind and its typed detail.
// Core's English sentence stays what the CLI prints and the log keeps; the window shows it only as
// the detail under its own words.
import type { ErrorDetail } from './bindings/ErrorDetail';
import type { ErrorKind } from './bindings/ErrorKind';
import { t, type MessageKey } from './i18n/index.svelte';

export type { ErrorDetail } from './bindings/ErrorDetail';
export type { ErrorKind } from './bindings/ErrorKind';

/** What every error carries, whether it came over IPC, in a count or in a flush outcome. */
export interface Failure {
  kind: ErrorKind;
  message: string;
  detail: ErrorDetail | null;
}

/** The words of a kind: a key, or a choice of key made from the detail. */
type Words = MessageKey | ((detail: ErrorDetail | null) => MessageKey);
/** A row with more than words: `noBackend` marks the page's own "outside the window", `sentence`
 *  a kind whose core sentence is shown under the words (it says where a glob is wrong), `final` one
 *  that asking again cannot change (an undo refused for good). */
type Row = Words | { words: Words; noBackend?: true; sentence?: true; final?: true };

const WORDS: Record<ErrorKind, Row> = {
  workspace_not_found: 'err.workspace_not_found',
  workspace_unreadable: 'err.workspace_unreadable',
  workspace_invalid: 'err.workspace_invalid',
  workspace_exists: 'err.workspace_exists',
  workspace_unwritable: 'err.workspace_unwritable',
  proposal_invalid: 'err.proposal_invalid',
  detect_no_folder: 'err.detect_no_folder',
  detect_no_manage_py: 'err.detect_no_manage_py',
  detect_several_manage_py: 'err.detect_several_manage_py',
  unknown_instance: 'err.unknown_instance',
  unknown_preset: 'err.unknown_preset',
  unknown_file: 'err.unknown_file',
  already_running: 'err.already_running',
  port_in_use: (d) => (d?.type === 'portInUse' && d.lostInstance ? 'err.port_in_use.lost' : 'err.port_in_use'),
  missing: 'err.missing',
  not_runnable: 'err.not_runnable',
  spawn_failed: 'err.spawn_failed',
  stuck_group: 'err.stuck_group',
  redis_unavailable: (d) =>
    d?.type === 'redis' && d.managed === false ? 'err.redis_unavailable.unmanaged' : 'err.redis_unavailable',
  preflight_failed: 'err.preflight_failed',
  redis_refused: (d) => (d?.type === 'redis' && d.managed === true ? 'err.redis_refused.managed' : 'err.redis_refused'),
  redis_auth_failed: 'err.redis_auth_failed',
  redis_tls_failed: (d) => (d?.type === 'redisTls' ? `err.redis_tls_failed.${d.problem}` : 'err.redis_tls_failed'),
  redis_timeout: 'err.redis_timeout',
  redis_connection_lost: 'err.redis_connection_lost',
  redis_error: 'err.redis_error',
  instance_not_running: 'err.instance_not_running',
  instance_health: 'err.instance_health',
  cache_token: 'err.cache_token',
  cache_database_missing: 'err.cache_database_missing',
  cache_table_missing: 'err.cache_table_missing',
  cache_database: 'err.cache_database',
  cache_io: 'err.cache_io',
  cache_unsupported: 'err.cache_unsupported',
  nothing_cached: 'err.nothing_cached',
  flush_running: 'err.flush_running',
  unknown_site: 'err.unknown_site',
  unknown_alias: 'err.unknown_alias',
  front_door: 'err.front_door',
  site_not_migrated: 'err.site_not_migrated',
  migrations_pending: 'err.migrations_pending',
  postgres_unavailable: 'err.postgres_unavailable',
  packages_missing: 'err.packages_missing',
  supervised_elsewhere: 'err.supervised_elsewhere',
  not_handed_over: 'err.not_handed_over',
  supervisor_lock: 'err.supervisor_lock',
  unknown_unit: 'err.unknown_unit',
  not_kovans_database: 'err.not_kovans_database',
  database_in_use: 'err.database_in_use',
  no_snapshot: 'err.no_snapshot',
  database_failed: 'err.database_failed',
  undo_limit: 'err.undo_limit',
  undo_write_failed: 'err.undo_write_failed',
  undo_failed: { words: 'err.undo_failed', final: true },
  bad_glob: { words: 'err.bad_glob', sentence: true },
  no_env_file: 'err.no_env_file',
  python_failed: 'err.python_failed',
  django_setup_failed: 'err.django_setup_failed',
  database_unreadable: 'err.database_unreadable',
  migrate_failed: 'err.migrate_failed',
  bad_requirement: 'err.bad_requirement',
  not_a_virtualenv: 'err.not_a_virtualenv',
  install_failed: 'err.install_failed',
  generate_io: 'err.generate_io',
  outside_root: 'err.outside_root',
  symlink: 'err.symlink',
  same_file: 'err.same_file',
  write_incomplete: 'err.write_incomplete',
  unquotable_value: 'err.unquotable_value',
  template: 'err.template',
  unsupported_django: 'err.unsupported_django',
  fix_io: 'err.fix_io',
  restart_by_caller: 'err.restart_by_caller',
  store: 'err.store',
  store_unavailable: 'err.store_unavailable',
  recent_unwritable: 'err.recent_unwritable',
  channel: 'err.channel',
  internal: 'err.internal',
  // Only the page makes this one: it is not inside the Kovan window, so there is nothing to ask.
  ipc_unavailable: { words: 'err.ipc_unavailable', noBackend: true },
};

/** Every kind the window knows (the table's rows). */
export const ERROR_KINDS = Object.keys(WORDS) as readonly ErrorKind[];

export function isErrorKind(value: unknown): value is ErrorKind {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(WORDS, value);
}

/** The key a failure is worded with. */
export function wordsKey(kind: ErrorKind, detail: ErrorDetail | null): MessageKey {
  const row = WORDS[kind];
  const words = typeof row === 'object' ? row.words : row;
  return typeof words === 'function' ? words(detail) : words;
}

/** The kind the page gives a call made outside the Kovan window. */
export const NO_BACKEND: ErrorKind = 'ipc_unavailable';

/** The failure only says the page runs outside the Kovan window (which the workspace panel already says). */
export function isNoBackend(failure: Pick<Failure, 'kind'>): boolean {
  const row = WORDS[failure.kind];
  return typeof row === 'object' && row.noBackend === true;
}

/** Core's sentence belongs under the window's words for this failure (a bad glob's says where). */
export function showsSentence(failure: Pick<Failure, 'kind'>): boolean {
  const row = WORDS[failure.kind];
  return typeof row === 'object' && row.sentence === true;
}

/** Asking again cannot turn this failure around: the button that asked goes. */
export function isFinal(failure: Pick<Failure, 'kind'>): boolean {
  const row = WORDS[failure.kind];
  return typeof row === 'object' && row.final === true;
}

/** The placeholders a detail fills. */
export function detailParams(detail: ErrorDetail | null): Record<string, string | number> {
  if (detail === null) return {};
  switch (detail.type) {
    case 'portInUse':
      return {
        instance: detail.instance,
        port: detail.port,
        holder: detail.holder ? `PID ${detail.holder.pid} (${detail.holder.command})` : t('err.holder.unknown'),
        nextFree: detail.nextFree ?? '',
      };
    case 'fields':
      return { path: detail.file, count: detail.problems.length };
    case 'redis':
    case 'redisTls':
      return { url: detail.url };
    case 'instance':
      return { instance: detail.instance };
    case 'preset':
      return { preset: detail.preset };
    case 'path':
      return { path: detail.path };
    case 'preflight':
      return { count: detail.problems.length };
    case 'supervisor':
      return { by: detail.by };
    case 'migrations':
      return { unit: detail.unit, instance: detail.instance, count: detail.unapplied };
    case 'database':
      return {
        database: detail.database,
        holders: detail.holders
          .map((h) => (h.applicationName === '' ? `PID ${h.pid}` : `${h.applicationName} (PID ${h.pid})`))
          .join(', '),
      };
    case 'packages':
      return {
        instance: detail.instance,
        python: detail.python,
        packages: detail.missing.map((m) => m.import).join(', '),
        command: detail.command ?? '',
      };
  }
}

/** What a start refused for packages the interpreter lacks offers: the exact command, and the
 * requirements the Install button passes to installRequirements. Found in the failure itself (a
 * card's start) or among a preflight's problems (a site's or a preset's start). */
export type PackagesFix = Extract<ErrorDetail, { type: 'packages' }>;

export function packagesMissing(failure: Failure): PackagesFix | null {
  const d = failure.detail;
  if (failure.kind === 'packages_missing' && d?.type === 'packages') return d;
  if (d?.type === 'preflight') {
    for (const problem of d.problems) {
      const found = packagesMissing(problem);
      if (found) return found;
    }
  }
  return null;
}

/** A start refused because migrations are not applied and kovan.toml says migrate = "ask": the
 * window's question, answered by starting again with "migrate first". */
export function migrationsPending(failure: Failure): { instance: string; unapplied: number } | null {
  if (failure.kind !== 'migrations_pending' || failure.detail?.type !== 'migrations') return null;
  return { instance: failure.detail.instance, unapplied: failure.detail.unapplied };
}

/** The failure in the window's language. Words that need what the detail does not give (an error
 * from an older core) fall back to core's sentence rather than show a bare `{placeholder}`. */
export function errorText(failure: Failure): string {
  const text = t(wordsKey(failure.kind, failure.detail), detailParams(failure.detail));
  return /\{\w+\}/.test(text) && failure.message.trim() !== '' ? failure.message : text;
}

/** Core's English sentence, for the detail line or a tooltip; null when there is none. */
export function errorDetailText(failure: Failure): string | null {
  return failure.message.trim() === '' ? null : failure.message;
}

/** A tooltip: the words, then core's sentence under "Details". */
export function errorTooltip(failure: Failure): string {
  const detail = errorDetailText(failure);
  return detail === null ? errorText(failure) : `${errorText(failure)}\n\n${t('err.detail')}: ${detail}`;
}

/** What a port conflict offers: the port core found free, and whether "Stop it" may end the holder. */
export function portConflict(failure: Failure): { port: number; nextFree: number | null; lostInstance: boolean } | null {
  const d = failure.detail;
  if (d?.type !== 'portInUse') return null;
  return { port: d.port, nextFree: d.nextFree, lostInstance: d.lostInstance };
}

/** A start refused before anything started: every member's problem is in the detail. */
export function isPreflight(failure: Failure): boolean {
  return failure.detail?.type === 'preflight';
}

/** The instances' own problems of a failed preflight, each a failure of its own. */
export function preflightProblems(failure: Failure): Failure[] {
  return failure.detail?.type === 'preflight' ? failure.detail.problems : [];
}
