// English. Typed to have exactly the keys of tr.ts: a missing or extra key fails `npm run check`.
import type { MessageKey } from './tr';

export const en: { readonly [K in MessageKey]: string } = {
  'app.name': 'Kovan',
  'app.tagline': 'Django instance panel',
  'app.loading': 'Reading kovan.toml…',
  'app.crashed': 'Something went wrong while drawing the window',
  'app.crashedHint': 'This is a bug in Kovan. Try reloading; if it persists, please report it.',

  'header.workspace': 'Workspace',
  'header.file': 'Workspace file',
  'header.settings': 'Settings module',
  'header.redis': 'Redis',
  'header.redisNone': 'not configured',
  'header.redisManaged': 'managed',
  'header.redisManagedHint':
    'managed = true: when no Redis answers at this address, Kovan starts redis-server itself.',
  'header.redisExternal': 'external',
  'header.redisExternalHint': 'managed = false: Kovan does not start this Redis server; it must already be running.',

  'action.reload': 'Reload',
  'action.reloading': 'Loading…',
  'action.reloadHint': 'Read kovan.toml from disk again',

  'lang.switchLabel': 'Switch to Turkish',
  'lang.switchShort': 'TR',

  'presets.title': 'Presets',
  'presets.none': 'No presets defined.',

  'instances.title': 'Instances',
  'instances.count': 'Instances: {count}',
  'instances.none': 'This workspace defines no instances.',

  'role.main': 'Main',
  'role.api': 'API',
  'role.websocket': 'WebSocket',

  'status.label': 'Status',
  'status.stopped': 'Stopped',

  'card.port': 'Port',
  'card.role': 'Role',
  'card.database': 'Database',
  'card.sessionCookie': 'Session cookie',
  'card.csrfCookie': 'CSRF cookie',
  'card.cache': 'Cache',
  'card.cacheTimeout': '{seconds} s timeout',
  'card.cachePrefix': 'Cache prefix',
  'card.cacheLocation': 'Cache location',
  'card.staticRoot': 'Static root',
  'card.mediaRoot': 'Media root',
  'card.envFile': 'Env file',
  'card.logFile': 'Log file',

  'error.title.notFound': 'kovan.toml not found',
  'error.title.unreadable': 'kovan.toml could not be read',
  'error.title.invalid': 'kovan.toml is not valid',
  'error.title.other': 'kovan.toml could not be loaded',
  'error.title.backend': 'The workspace could not be loaded',
  'error.file': 'File',
  'error.problemCount': 'Problems found: {count}',
  'error.problems': 'Problems',
  'error.field': 'Field',
  'error.line': 'Line {line}',
  'error.fix': 'Fix',
  'error.kind': 'Error kind',
  'error.retryHint': 'Fix the file, then press “Reload”.',
  'error.retryHintCreate': 'Create kovan.toml, then press “Reload”.',
  'error.noBackend':
    'This page was opened outside the Kovan app window, so there is no Kovan backend to ask. Start Kovan as the desktop app.',
};
