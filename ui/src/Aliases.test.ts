// Several caches per instance (issue 18, item 2): chat_main's `default` on Redis and `local` in
// memory. The card shows each alias's count; the flush dialog says which aliases it covers, lets the
// user pick, says a LocMem alias cannot be undone, and reports per alias.
import { describe, expect, it } from 'vitest';

import type { CacheCounts } from './lib/bindings/CacheCounts';
import type { FlushPreview } from './lib/bindings/FlushPreview';
import type { FlushReport } from './lib/bindings/FlushReport';
import type { InstancePart } from './lib/bindings/InstancePart';
import type { WorkspaceView } from './lib/bindings/WorkspaceView';
import { setLanguage } from './lib/i18n/index.svelte';
import { cacheCountsFixture, chatMainPreview, chatMainReport, loadedView } from './test/fixtures';
import { all, button, card, named, one, render, serve, until, waitFor } from './test/harness';

const withLocal: CacheCounts = {
  ...cacheCountsFixture,
  instances: cacheCountsFixture.instances.map((i) =>
    i.instance === 'chat_main'
      ? {
          ...i,
          aliases: [
            {
              alias: 'local',
              backend: 'locmem',
              prefix: 'context7_chat_main.local',
              count: { state: 'counted', keys: 48, sessions: null },
            },
          ],
        }
      : i,
  ),
};

const defaultPart: InstancePart = { ...chatMainPreview.parts[0], alias: 'default' };
const localPart: InstancePart = {
  ...chatMainPreview.parts[0],
  alias: 'local',
  keys: 48,
  sessions: null,
  keptKeys: 0,
  keptSessions: null,
  dbSessions: { state: 'notInScope' },
  summary: '48 cache keys of chat_main (local); sessions are kept',
};

/** What core previews for the aliases asked (none: both). */
function previewOf(args: Record<string, unknown>): FlushPreview {
  const asked = (args.aliases as string[] | undefined) ?? [];
  const parts = [defaultPart, localPart].filter((p) => asked.length === 0 || asked.includes(p.alias));
  return {
    ...chatMainPreview,
    part: 'cache',
    aliases: asked,
    parts,
    keys: parts.reduce((sum, p) => sum + (p.keys ?? 0), 0),
    counts: withLocal,
  };
}

const localReport: FlushReport = {
  ...chatMainReport,
  deleted: 1234 + 48,
  instances: [
    chatMainReport.instances[0],
    {
      ...chatMainReport.instances[0],
      alias: 'local',
      backend: 'locmem',
      deleted: 48,
      sessionsDeleted: null,
      method: null,
      undoable: false,
    },
  ],
};

async function ready(): Promise<void> {
  render();
  await waitFor('[data-testid="cache-aliases"]');
}

/** The workspace with chat_main's `local` alias, as core derives it. */
const viewWithLocal: WorkspaceView =
  loadedView.state === 'loaded'
    ? {
        ...loadedView,
        instances: loadedView.instances.map((i) =>
          i.name === 'chat_main'
            ? {
                ...i,
                caches: [
                  {
                    alias: 'local',
                    backend: 'locmem',
                    cacheClass: 'django.core.cache.backends.locmem.LocMemCache',
                    timeout: 60,
                    prefix: 'context7_chat_main.local',
                    location: 'context7_chat_main.local',
                  },
                ],
              }
            : i,
        ),
      }
    : loadedView;

describe('an instance with two cache aliases', () => {
  it('shows each alias’s count on the card, and none for an instance without aliases', async () => {
    serve({ workspace_view: viewWithLocal, cache_counts: withLocal });
    await ready();
    // The alias's derived names, as core made them.
    const names = one('[data-testid="cache-alias-names"][data-alias="local"]', card('chat_main'));
    expect(one('[data-testid="cache-alias-prefix"]', names).textContent).toBe('context7_chat_main.local');
    expect(names.textContent).toContain('60 sn');
    const aliases = all('[data-testid="cache-alias"]', card('chat_main'));
    expect(aliases.map((a) => [a.dataset.alias, a.dataset.keys])).toEqual([
      ['default', '1234'],
      ['local', '48'],
    ]);
    expect(aliases[1].textContent).toContain('locmem');
    expect(aliases[1].textContent).toContain('48 anahtar');
    expect(card('chat_api').querySelector('[data-testid="cache-aliases"]')).toBeNull();
  });

  it('flushes every alias by default, says which, and that the LocMem one cannot be undone', async () => {
    const calls = serve({
      workspace_view: loadedView,
      cache_counts: withLocal,
      flush_preview_part: previewOf,
      flush_cache: localReport,
    });
    await ready();
    button('flush', card('chat_main')).click();
    await waitFor('[data-testid="flush-dialog"][data-phase="confirm"]');
    expect(named(calls, 'flush_preview_part')[0].args).toEqual({ scope: { instances: ['chat_main'] }, part: 'cache' });
    expect(one('[data-testid="flush-aliases-covered"]').textContent?.trim()).toBe('Kapsanan önbellekler: default, local');
    const lines = all('[data-testid="flush-scope"] li').map((l) => l.dataset.alias);
    expect(lines).toEqual(['default', 'local']);
    expect(one('[data-testid="flush-alias-line"]').textContent?.trim()).toBe('chat_main · local: 48 anahtar silinecek');
    expect(one('[data-testid="flush-alias-no-undo"]').textContent).toContain('local (locmem) geri alınamaz');
    // The Redis `default` can be undone; the LocMem alias says it cannot, on its own line.
    expect(one('[data-testid="flush-dialog"]').textContent).toContain('silinmeden önce saklanır');
    expect(one('[data-testid="flush-dialog"]').textContent).not.toContain('Silinen anahtarlar geri alınamaz.');

    button('flush-confirm').click();
    await waitFor('[data-testid="flush-result"]');
    const outcomes = all('[data-testid="flush-result"] li').map((l) => [l.dataset.alias, l.textContent?.trim()]);
    expect(outcomes).toEqual([
      ['default', 'chat_main: 1.234 anahtar silindi'],
      ['local', 'chat_main · local: 48 anahtar silindi'],
    ]);
  });

  it('lets the user pick one alias, counts it alone, and wants at least one', async () => {
    const calls = serve({ workspace_view: loadedView, cache_counts: withLocal, flush_preview_part: previewOf });
    await ready();
    button('flush', card('chat_main')).click();
    await waitFor('[data-testid="flush-dialog"][data-phase="confirm"]');
    const box = (alias: string) =>
      one(`[data-testid="flush-alias"][data-alias="${alias}"] input`) as HTMLInputElement;
    expect([box('default').checked, box('local').checked]).toEqual([true, true]);

    box('default').click();
    await until(() => one('[data-testid="flush-aliases-covered"]')?.dataset.aliases === 'local', 'the local preview');
    expect(named(calls, 'flush_preview_part')[1].args).toEqual({
      scope: { instances: ['chat_main'] },
      part: 'cache',
      aliases: ['local'],
    });
    expect(all('[data-testid="flush-scope"] li').map((l) => l.dataset.alias)).toEqual(['local']);
    expect(one('[data-testid="flush-confirm"]').textContent).toContain('48');

    box('local').click();
    await waitFor('[data-testid="flush-alias-wanted"]');
    expect(one('[data-testid="flush-alias-wanted"]').textContent).toBe('En az bir önbellek seçin.');
    expect(named(calls, 'flush_preview_part')).toHaveLength(2);
  });

  it('speaks English', async () => {
    setLanguage('en');
    try {
      serve({ workspace_view: loadedView, cache_counts: withLocal, flush_preview_part: previewOf });
      await ready();
      expect(one('[data-testid="cache-alias"][data-alias="local"]', card('chat_main')).textContent).toContain('48 keys');
      button('flush', card('chat_main')).click();
      await waitFor('[data-testid="flush-dialog"][data-phase="confirm"]');
      expect(one('[data-testid="flush-aliases-covered"]').textContent?.trim()).toBe('Caches covered: default, local');
      expect(one('[data-testid="flush-alias-no-undo"]').textContent).toContain('local (locmem) cannot be undone');
    } finally {
      setLanguage('tr');
    }
  });
});
