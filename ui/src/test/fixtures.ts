// Views shaped exactly like what kovan-core sends for examples/context7/kovan.toml.
import type { InstanceCard } from '../lib/bindings/InstanceCard';
import type { WorkspaceView } from '../lib/bindings/WorkspaceView';

function card(
  name: string,
  port: number,
  role: InstanceCard['role'],
  cache: InstanceCard['cache'],
  cacheClass: string,
  cacheTimeout: number,
): InstanceCard {
  return {
    name,
    port,
    role,
    cache,
    cacheClass,
    cacheTimeout,
    names: {
      database: `db_${name}.sqlite3`,
      cachePrefix: `context7_${name}`,
      cacheLocation: cache === 'locmem' ? `context7_${name}` : null,
      sessionCookie: `sessionid_${name}`,
      csrfCookie: `csrftoken_${name}`,
      staticRoot: `staticfiles_${name}`,
      mediaRoot: `media_${name}`,
      envFile: `.env.${name}`,
      logFile: `logs/${name}.log`,
    },
    status: 'stopped',
  };
}

export const loadedView: WorkspaceView = {
  state: 'loaded',
  name: 'context7',
  file: '/home/dev/projects/context7/kovan.toml',
  djangoRoot: '/home/dev/projects/context7',
  settings: 'dashboard_project.settings',
  redisUrl: 'redis://:***@127.0.0.1:6379/0',
  redisManaged: true,
  presets: [
    { name: 'dev', instances: ['chat_main', 'chat_api'] },
    { name: 'chat', instances: ['chat_main', 'chat_api', 'chat_websocket'] },
  ],
  instances: [
    card('chat_main', 8000, 'main', 'redis', 'django.core.cache.backends.redis.RedisCache', 3600),
    card('chat_api', 8001, 'api', 'redis', 'django.core.cache.backends.redis.RedisCache', 600),
    card('chat_websocket', 8002, 'websocket', 'locmem', 'django.core.cache.backends.locmem.LocMemCache', 300),
  ],
};

export const invalidView: WorkspaceView = {
  state: 'invalid',
  kind: 'workspace_invalid',
  file: '/home/dev/projects/context7/kovan.toml',
  message: '/home/dev/projects/context7/kovan.toml: 2 problems',
  problems: [
    {
      field: 'instance[1].port',
      line: 27,
      message: 'Port 8000 is already used by chat_main.',
      fix: 'Give every instance its own port, e.g. 8001.',
    },
    {
      field: 'redis',
      line: null,
      message: 'chat_main, chat_api use cache = "redis", but there is no [redis] table.',
      fix: 'Add `[redis]` with `url = "redis://127.0.0.1:6379/0"`, or choose another cache for them.',
    },
  ],
};

export const notFoundView: WorkspaceView = {
  state: 'invalid',
  kind: 'workspace_not_found',
  file: '/home/dev/projects/empty/kovan.toml',
  message:
    "/home/dev/projects/empty/kovan.toml: no kovan.toml here. Create one in your Django project's root, or point Kovan at it with --workspace PATH or KOVAN_WORKSPACE.",
  problems: [],
};
