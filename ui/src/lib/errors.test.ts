import { mockIPC } from '@tauri-apps/api/mocks';
import { describe, expect, it } from 'vitest';

import { toApiError } from './api';
import {
  ERROR_KINDS,
  errorDetailText,
  errorText,
  isErrorKind,
  isNoBackend,
  portConflict,
  preflightProblems,
  wordsKey,
  type ErrorDetail,
  type ErrorKind,
  type Failure,
} from './errors';
import { en } from './i18n/en';
import { setLanguage } from './i18n/index.svelte';
import { tr } from './i18n/tr';
import type { TlsProblem } from './bindings/TlsProblem';

const instance: ErrorDetail = { type: 'instance', instance: 'chat_main' };
const path: ErrorDetail = { type: 'path', path: '/srv/chat/kovan.toml' };
const redis: ErrorDetail = { type: 'redis', url: 'redis://127.0.0.1:6379/0', managed: null };
const port: ErrorDetail = {
  type: 'portInUse',
  instance: 'chat_main',
  port: 8000,
  holder: { pid: 4242, command: 'nc -l 8000' },
  lostInstance: false,
  nextFree: 8003,
};

// The detail core sends with each kind (crates/kovan-core: each error's `Classified::detail`).
// A Record, so a new kind fails to compile here until it has a sample.
const SAMPLE: Record<ErrorKind, ErrorDetail | null> = {
  workspace_not_found: path,
  workspace_unreadable: path,
  workspace_invalid: {
    type: 'fields',
    file: '/srv/chat/kovan.toml',
    problems: [{ field: 'instance[1].port', line: 9, message: 'port 8000 is used twice', fix: 'give it another port' }],
  },
  workspace_exists: path,
  workspace_unwritable: path,
  proposal_invalid: path,
  detect_no_folder: path,
  detect_no_manage_py: path,
  detect_several_manage_py: path,
  unknown_instance: instance,
  unknown_preset: { type: 'preset', preset: 'dev' },
  unknown_file: path,
  already_running: instance,
  port_in_use: port,
  missing: instance,
  not_runnable: instance,
  spawn_failed: instance,
  stuck_group: instance,
  redis_unavailable: { ...redis, managed: true },
  preflight_failed: { type: 'preflight', problems: [] },
  redis_refused: { ...redis, managed: false },
  redis_auth_failed: redis,
  redis_tls_failed: { type: 'redisTls', url: 'rediss://127.0.0.1:6380/0', problem: 'unknown_ca' },
  redis_timeout: redis,
  redis_connection_lost: redis,
  redis_error: redis,
  instance_not_running: instance,
  instance_health: instance,
  cache_token: instance,
  cache_database_missing: instance,
  cache_table_missing: instance,
  cache_database: instance,
  cache_io: instance,
  cache_unsupported: instance,
  nothing_cached: instance,
  flush_running: null,
  unknown_site: null,
  unknown_alias: null,
  front_door: null,
  site_not_migrated: instance,
  migrations_pending: { type: 'migrations', unit: 'chat', instance: 'chat_main', unapplied: 3 },
  postgres_unavailable: null,
  packages_missing: {
    type: 'packages',
    instance: 'review',
    python: '.venv/bin/python',
    missing: [{ import: 'redis', requirement: 'redis>=5', neededBy: 'review (cache = "redis")' }],
    requirements: ['redis>=5'],
    command: ".venv/bin/python -m pip install 'redis>=5'",
  },
  supervised_elsewhere: { type: 'supervisor', by: 'kovan up, PID 4242' },
  not_handed_over: { type: 'supervisor', by: 'kovan up, PID 4242' },
  supervisor_lock: path,
  unknown_unit: null,
  not_kovans_database: { type: 'database', database: 'mine.sqlite3', holders: [] },
  database_in_use: {
    type: 'database',
    database: 'context7_chat',
    holders: [{ pid: 4001, applicationName: 'context7_chat_main' }],
  },
  no_snapshot: { type: 'database', database: 'context7_chat', holders: [] },
  database_failed: null,
  undo_limit: null,
  undo_write_failed: null,
  undo_failed: null,
  bad_glob: null,
  no_env_file: null,
  python_failed: instance,
  django_setup_failed: instance,
  database_unreadable: instance,
  migrate_failed: instance,
  bad_requirement: instance,
  not_a_virtualenv: instance,
  install_failed: instance,
  generate_io: path,
  outside_root: path,
  symlink: path,
  same_file: path,
  write_incomplete: path,
  unquotable_value: path,
  template: null,
  unsupported_django: null,
  fix_io: path,
  restart_by_caller: instance,
  store: path,
  store_unavailable: null,
  recent_unwritable: path,
  channel: null,
  internal: null,
  ipc_unavailable: null,
};

const CORE = 'core’s English sentence';

function failure(kind: ErrorKind, detail: ErrorDetail | null = SAMPLE[kind]): Failure {
  return { kind, message: CORE, detail };
}

describe('the error table', () => {
  it('has a row for every kind core has', () => {
    expect([...ERROR_KINDS].sort()).toEqual(Object.keys(SAMPLE).sort());
    for (const kind of ERROR_KINDS) expect(isErrorKind(kind)).toBe(true);
    expect(isErrorKind('portInUse')).toBe(false);
    expect(isErrorKind('io')).toBe(false);
  });

  it('words every kind in both languages, from its detail, without core’s sentence', () => {
    for (const kind of ERROR_KINDS) {
      for (const language of ['tr', 'en'] as const) {
        setLanguage(language);
        const text = errorText(failure(kind));
        expect(text, `${kind} (${language})`).not.toBe(CORE);
        expect(text, `${kind} (${language})`).not.toMatch(/\{\w+\}/);
        expect(text.trim(), `${kind} (${language})`).not.toBe('');
      }
      const key = wordsKey(kind, SAMPLE[kind]);
      expect(tr[key], kind).not.toBe(en[key]);
    }
  });

  it('keeps core’s sentence as the detail', () => {
    expect(errorDetailText(failure('store'))).toBe(CORE);
  });

  it('a PortInUse detail offers its next free port and names the holder', () => {
    const conflict = failure('port_in_use');
    expect(portConflict(conflict)).toEqual({ port: 8000, nextFree: 8003, lostInstance: false });
    setLanguage('en');
    expect(errorText(conflict)).toBe(
      'chat_main: port 8000 is taken by PID 4242 (nc -l 8000). Stop that process yourself, or start on another port.',
    );
    setLanguage('tr');
    expect(errorText({ ...conflict, detail: { ...port, holder: null, lostInstance: true } })).toBe(
      'chat_main: 8000 portunu önceki bir Kovan’ın çalışır bıraktığı bu instance tutuyor. Onu durdurun ya da başka bir portta başlatın.',
    );
    expect(portConflict(failure('already_running'))).toBeNull();
  });

  it('words a refused Redis from the managed flag: never “set managed = true” to who has', () => {
    setLanguage('en');
    const managed = errorText(failure('redis_refused', { ...redis, managed: true }));
    expect(managed).toContain('Kovan starts it with the first instance');
    expect(managed).not.toContain('managed = true');
    expect(errorText(failure('redis_refused', { ...redis, managed: false }))).toContain('set managed = true');
  });

  it('words each part of a failed TLS handshake with its own fix, in both languages', () => {
    const problems: TlsProblem[] = [
      'unknown_ca',
      'hostname',
      'expired',
      'not_yet_valid',
      'client_certificate_required',
      'client_certificate_refused',
      'files',
      'no_handshake',
      'other',
    ];
    for (const language of ['tr', 'en'] as const) {
      setLanguage(language);
      const seen = new Set<string>();
      for (const problem of problems) {
        const text = errorText({
          kind: 'redis_tls_failed',
          message: 'TLS with Redis at rediss://127.0.0.1:6380/0 failed (core’s sentence)',
          detail: { type: 'redisTls', url: 'rediss://127.0.0.1:6380/0', problem },
        });
        expect(text, `${language} ${problem}`).not.toMatch(/\{\w+\}|core’s sentence/);
        seen.add(text);
      }
      expect(seen.size).toBe(problems.length);
    }
    setLanguage('tr');
    expect(
      errorText({
        kind: 'redis_tls_failed',
        message: '',
        detail: { type: 'redisTls', url: 'rediss://h:6380/0', problem: 'unknown_ca' },
      }),
    ).toContain('ca_file');
  });

  it('lists a preflight’s problems, each worded on its own', () => {
    const problems: Failure[] = [failure('port_in_use'), failure('missing')];
    const preflight = failure('preflight_failed', { type: 'preflight', problems });
    expect(preflightProblems(preflight)).toEqual(problems);
    setLanguage('en');
    expect(errorText(preflight)).toBe('2 check(s) failed; nothing was started.');
  });

  it('falls back to core’s sentence when the detail the words need is missing', () => {
    expect(errorText(failure('already_running', null))).toBe(CORE);
  });

  it('reads what IPC rejects with: kind, message and detail; an unknown kind is a bug', () => {
    mockIPC(() => null);
    const error = toApiError('start_instance', { kind: 'port_in_use', message: 'taken', detail: port });
    expect(error.kind).toBe('port_in_use');
    expect(portConflict(error)?.nextFree).toBe(8003);
    expect(toApiError('x', { kind: 'portInUse', message: 'm' }).kind).toBe('internal');
    expect(isNoBackend(error)).toBe(false);
    expect(isNoBackend(failure('ipc_unavailable'))).toBe(true);
  });
});
