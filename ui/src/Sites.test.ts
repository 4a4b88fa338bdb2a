// A site's header in the window: its channel layer's key count (counted apart by core, never
// flushed) among what the members share, and "Cache Temizle" for the whole site, which opens the
// flush dialog on the site scope naming the site and its members.
import { describe, expect, it } from 'vitest';

import type { CacheCounts } from './lib/bindings/CacheCounts';
import type { FlushPreview } from './lib/bindings/FlushPreview';
import type { WorkspaceView } from './lib/bindings/WorkspaceView';
import { setLanguage } from './lib/i18n/index.svelte';
import { cacheCountsFixture, loadedView } from './test/fixtures';
import { button, named, one, render, serve, text, until, waitFor } from './test/harness';

const members = ['chat_main', 'chat_api', 'chat_websocket'];

const siteView: WorkspaceView = {
  ...(loadedView as Extract<WorkspaceView, { state: 'loaded' }>),
  sites: [
    {
      name: 'chat',
      instances: members,
      frontDoor: 8080,
      url: 'http://127.0.0.1:8080/',
      routes: [
        { prefix: '/ws/', role: 'websocket', members: ['chat_websocket'] },
        { prefix: '/api/', role: 'api', members: ['chat_api'] },
        { prefix: '/', role: 'main', members: ['chat_main'] },
      ],
      companions: [],
      shares: [
        { name: 'database', value: 'db_chat.sqlite3' },
        { name: 'session_cookie', value: 'sessionid_chat' },
        { name: 'channel_prefix', value: 'context7_chat' },
      ],
    },
  ],
};

const counts: CacheCounts = {
  ...cacheCountsFixture,
  sites: [{ site: 'chat', channelPrefix: 'context7_chat', keys: 1234 }],
};

const sitePreview: FlushPreview = {
  scope: { site: 'chat' },
  part: 'cache',
  parts: [],
  instances: members,
  aliases: [],
  keys: 1290,
  sessions: 0,
  dbSessions: 0,
  counts,
};

function site(): HTMLElement {
  return one('[data-testid="site-group"][data-site="chat"]');
}

describe('a site’s header', () => {
  it('shows the channel layer’s key count beside its prefix, in both languages', async () => {
    serve({ workspace_view: siteView, cache_counts: counts });
    render();
    const keys = await waitFor('[data-testid="site-group"] [data-testid="site-channel-keys"]');
    expect(keys.dataset.count).toBe('1234');
    expect(keys.textContent?.trim()).toBe('Redis’te 1.234 anahtar');
    expect(keys.title).toContain('hiçbir cache temizliği onları silmez');
    const share = one('[data-testid="site-share"][data-name="channel_prefix"]', site());
    expect(share.contains(keys)).toBe(true);
    expect(share.textContent).toContain('context7_chat');

    setLanguage('en');
    await until(() => keys.textContent?.trim() === '1,234 keys in Redis', 'the English words');
    expect(button('site-flush', site()).textContent?.trim()).toBe('Clear cache');
    setLanguage('tr');
  });

  it('shows no count while the layer is not counted', async () => {
    serve({
      workspace_view: siteView,
      cache_counts: { ...counts, sites: [{ site: 'chat', channelPrefix: 'context7_chat', keys: null }] },
    });
    render();
    await waitFor('[data-testid="cache-keys"][data-state="counted"]');
    await waitFor('[data-testid="site-share"][data-name="channel_prefix"]');
    expect(site().querySelector('[data-testid="site-channel-keys"]')).toBeNull();
  });

  it('Cache Temizle opens the flush on the site scope, naming the site, its members and the layer that stays', async () => {
    const calls = serve({ workspace_view: siteView, cache_counts: counts, flush_preview_part: sitePreview });
    render();
    const opener = await waitFor('[data-testid="site-group"][data-site="chat"] [data-testid="site-flush"]');
    await waitFor('[data-testid="site-channel-keys"]');
    expect(opener.textContent?.trim()).toBe('Cache Temizle');
    expect(opener.title).toContain('chat_main, chat_api, chat_websocket');
    opener.click();
    await waitFor('[data-testid="flush-dialog"][data-phase="confirm"]');

    expect(named(calls, 'flush_preview_part').map((c) => c.args)).toEqual([{ scope: { site: 'chat' }, part: 'cache' }]);
    expect(text('#flush-title')).toBe('Cache Temizle: chat sitesi');
    expect(text('[data-testid="flush-site-members"]')).toBe(
      'Sitenin üyeleri, her biri kendi cache önekiyle: chat_main, chat_api, chat_websocket.',
    );
    const layer = one('[data-testid="flush-channel-layer"][data-site="chat"]');
    expect(layer.dataset.count).toBe('1234');
    expect(layer.textContent?.trim()).toBe('chat kanal katmanı (context7_chat): 1.234 anahtar');
    expect(named(calls, 'flush_cache')).toEqual([]);
  });
});
