// The key inspector through the whole window: "Anahtarlar" on a card lists the instance's key
// groups largest in memory first, a group's button opens Cache Temizle with just that group, and
// the inspector comes back, read again, when that dialog closes.
import { describe, expect, it } from 'vitest';

import type { FlushPreview } from './lib/bindings/FlushPreview';
import type { KeyGroup } from './lib/bindings/KeyGroup';
import type { KeyGroups } from './lib/bindings/KeyGroups';
import { setLanguage } from './lib/i18n/index.svelte';
import { chatMainPreview, loadedView } from './test/fixtures';
import { all, button, card, named, one, render, serve, target, text, until, waitFor } from './test/harness';

function group(name: string, glob: string | null, keys: number, memoryBytes: number | null, more: Partial<KeyGroup> = {}): KeyGroup {
  return {
    name,
    glob,
    keys,
    sampled: Math.min(keys, 64),
    memoryBytes,
    persistent: 0,
    ttlMinMs: 590_000,
    ttlMedianMs: 595_000,
    ttlMaxMs: 600_000,
    ...more,
  };
}

// In the core's order (by keys): the panel sorts by memory.
const found: KeyGroups = {
  instance: 'chat_main',
  prefix: 'context7_chat_main',
  keys: 1602,
  durationMs: 12,
  groups: [
    group('cached pages', 'views.decorators.cache.cache_page.*', 1200, 96_000),
    group('user:*', 'user:*', 300, 2_400_000, { persistent: 64, ttlMinMs: null, ttlMedianMs: null, ttlMaxMs: null }),
    group('template fragments', 'template.cache.*', 40, 5_000),
    group('sessions', 'django.contrib.sessions.cache*', 25, 9_000, { ttlMinMs: 3_500_000, ttlMaxMs: 3_600_000 }),
    group('(names without : or .)', null, 37, 1_000),
  ],
};

const afterFlush: KeyGroups = { ...found, keys: 402, groups: found.groups.filter((g) => g.name !== 'cached pages') };

function matchPreview(glob: string, keys: number): FlushPreview {
  return {
    ...chatMainPreview,
    part: { match: glob },
    keys,
    sessions: 0,
    parts: [{ ...chatMainPreview.parts[0], keys, sessions: 0, summary: `${keys} keys of chat_main matching ${glob}` }],
  };
}

async function openKeys(): Promise<HTMLButtonElement> {
  render();
  await waitFor('[data-testid="cache-keys"][data-state="counted"]');
  const opener = button('inspect-keys', card('chat_main'));
  opener.click();
  return opener;
}

const rows = () => all('[data-testid="keys-group"]');

describe('the key inspector', () => {
  it('lists the groups by memory, worded, with ≈ for a sampled memory and the lifetimes', async () => {
    const calls = serve({ workspace_view: loadedView, key_groups: found });
    await openKeys();
    await waitFor('[data-testid="keys-dialog"][data-phase="ready"]');
    expect(named(calls, 'key_groups').map((c) => c.args)).toEqual([{ instance: 'chat_main' }]);
    expect(text('#keys-title')).toBe('Anahtarlar: chat_main');
    expect(rows().map((r) => r.dataset.name)).toEqual([
      'user:*',
      'cached pages',
      'sessions',
      'template fragments',
      '(names without : or .)',
    ]);
    const [users, pages, sessions, fragments, plain] = rows();
    expect(users.textContent).toContain('≈ 2,3 MiB');
    expect(users.textContent).toContain('süresiz');
    expect(pages.querySelector('th')?.textContent).toBe('Cache’lenmiş sayfalar');
    expect(pages.textContent).toContain('1.200');
    expect(pages.textContent).toContain('≈ 93,8 KiB');
    expect(pages.textContent).toContain('9 dk 50 sn – 10 dk 0 sn');
    expect(sessions.querySelector('th')?.textContent).toBe('Oturumlar');
    // All 25 measured: no ≈.
    expect(sessions.textContent).toContain('8,8 KiB');
    expect(sessions.textContent).not.toContain('≈');
    expect(fragments.querySelector('th')?.textContent).toBe('Şablon parçaları');
    // No glob takes this group: it has no button.
    expect(plain.querySelector('[data-testid="keys-flush-group"]')).toBeNull();
    expect(text('[data-testid="keys-summary"]')).toContain('context7_chat_main');
  });

  it('hands a group over to Cache Temizle with its glob, then comes back read again', async () => {
    let groups = found;
    const calls = serve({
      workspace_view: loadedView,
      key_groups: () => groups,
      flush_preview_part: (args: Record<string, unknown>) => matchPreview((args.part as { match: string }).match, 1200),
      flush_cache: () => {
        groups = afterFlush;
        return { ...matchPreview('x', 1200), deleted: 1200 };
      },
    });
    const opener = await openKeys();
    await waitFor('[data-testid="keys-dialog"][data-phase="ready"]');
    button('keys-flush-group', rows()[1]).click();
    await waitFor('[data-testid="flush-dialog"][data-phase="confirm"]');
    expect(target.querySelector('[data-testid="keys-dialog"]')).toBeNull();
    expect(named(calls, 'flush_preview_part').map((c) => c.args)).toEqual([
      { scope: { instances: ['chat_main'] }, part: { match: 'views.decorators.cache.cache_page.*' } },
    ]);
    expect(one('[data-testid="flush-part"]').dataset.choice).toBe('match');
    expect((one('[data-testid="flush-glob"]') as HTMLInputElement).value).toBe('views.decorators.cache.cache_page.*');
    // Chosen by the inspector, not by the user: the card's own Cache Temizle still opens on its last choice.
    expect(Object.keys(localStorage).filter((k) => k.startsWith('kovan.flushPart'))).toEqual([]);

    button('flush-cancel').click();
    await waitFor('[data-testid="keys-dialog"][data-phase="ready"]');
    expect(named(calls, 'key_groups')).toHaveLength(2);
    expect(named(calls, 'flush_cache')).toEqual([]);
    button('keys-close').click();
    await until(() => target.querySelector('[data-testid="keys-dialog"]') === null, 'the inspector to close');
    expect(document.activeElement).toBe(opener);
  });

  it('refreshes, and after a group’s flush the group is gone from the list', async () => {
    let groups = found;
    serve({
      workspace_view: loadedView,
      key_groups: () => groups,
      flush_preview_part: matchPreview('views.decorators.cache.cache_page.*', 1200),
      flush_cache: () => {
        groups = afterFlush;
        return {
          scope: { instances: ['chat_main'] },
          part: { match: 'views.decorators.cache.cache_page.*' },
          startedAt: '2026-11-27T12:00:01Z',
          durationMs: 20,
          deleted: 1200,
          sessionsDeleted: 0,
          dbSessionsDeleted: 0,
          cancelled: false,
          instances: [],
          undo: null,
        };
      },
    });
    await openKeys();
    await waitFor('[data-testid="keys-dialog"][data-phase="ready"]');
    button('keys-flush-group', rows()[1]).click();
    await waitFor('[data-testid="flush-dialog"][data-phase="confirm"]');
    button('flush-confirm').click();
    await waitFor('[data-testid="flush-result"]');
    button('flush-close').click();
    await waitFor('[data-testid="keys-dialog"][data-phase="ready"]');
    expect(rows().map((r) => r.dataset.name)).toEqual(['user:*', 'sessions', 'template fragments', '(names without : or .)']);
    expect(one('[data-testid="keys-summary"]').dataset.keys).toBe('402');

    groups = found;
    button('keys-refresh').click();
    await until(() => rows().length === 5, 'the refreshed groups');
  });

  it('says why nothing is listed: Redis down, a LocMem cache', async () => {
    setLanguage('en');
    const calls = serve({
      workspace_view: loadedView,
      key_groups: () => {
        throw {
          kind: 'redis_refused',
          message: 'Redis at redis://127.0.0.1:6379/0 refused the connection',
          detail: { type: 'redis', url: 'redis://127.0.0.1:6379/0', managed: false },
        };
      },
    });
    await openKeys();
    await waitFor('[data-testid="keys-dialog"][data-phase="failed"]');
    const error = one('[data-testid="keys-error"]');
    expect(error.dataset.kind).toBe('redis_refused');
    expect(error.textContent).toContain('The keys could not be read');
    expect(error.textContent).toContain('refused the connection. Start redis-server');
    button('keys-close').click();
    await until(() => target.querySelector('[data-testid="keys-dialog"]') === null, 'the inspector to close');

    button('inspect-keys', card('chat_websocket')).click();
    await waitFor('[data-testid="keys-dialog"][data-phase="unsupported"]');
    expect(text('[data-testid="keys-unsupported"]')).toContain('keeps its cache in LocMem');
    expect(target.querySelector('[data-testid="keys-refresh"]')).toBeNull();
    // Not asked: the core reads Redis only.
    expect(named(calls, 'key_groups')).toHaveLength(1);
  });
});

describe('a key group’s flush in the history', () => {
  it('names the glob after whose keys they were, in both languages', async () => {
    const at = new Date().setHours(0, 0, 9, 0);
    serve({
      workspace_view: loadedView,
      event_history: [
        {
          id: 9,
          at,
          instance: 'chat_main',
          event: {
            kind: 'flush',
            scope: { instances: ['chat_main'] },
            part: 'match "views.decorators.cache.cache_page.*"',
            startedAt: '2026-11-27T12:00:01Z',
            durationMs: 20,
            deleted: 30,
            sessionsDeleted: 0,
            dbSessionsDeleted: null,
            outcome: { state: 'done' },
            undo: 'snap-1',
          },
        },
      ],
    });
    render();
    await waitFor('[data-testid="event"][data-kind="flush"]');
    expect(text('[data-testid="event-summary"]')).toBe('30 anahtar silindi (chat_main; yalnızca views.decorators.cache.cache_page.*)');
    setLanguage('en');
    await until(() => text('[data-testid="event-summary"]').startsWith('30 keys'), 'English');
    expect(text('[data-testid="event-summary"]')).toBe('30 keys deleted (chat_main; only views.decorators.cache.cache_page.*)');
  });
});
