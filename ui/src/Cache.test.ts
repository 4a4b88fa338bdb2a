// Counting and clearing caches through the whole window, as a user does: the counts on each card,
// "Cache Temizle" on one card, "Tüm Cache'i Temizle" in the header, progress, Stop, failures.
import { emit } from '@tauri-apps/api/event';
import { describe, expect, it } from 'vitest';

import type { CacheCounts } from './lib/bindings/CacheCounts';
import type { FlushPart } from './lib/bindings/FlushPart';
import type { FlushPreview } from './lib/bindings/FlushPreview';
import type { FlushReport } from './lib/bindings/FlushReport';
import type { FlushScope } from './lib/bindings/FlushScope';
import { setLanguage } from './lib/i18n/index.svelte';
import { cacheCountsFixture, chatMainPreview, chatMainReport, loadedView } from './test/fixtures';
import { all, button, card, type Call, deferred, named, one, render, serve, target, text, until, waitFor } from './test/harness';

async function ready(): Promise<void> {
  render();
  await waitFor('[data-testid="cache-keys"][data-state="counted"]');
}

function dialog(): HTMLElement {
  return one('[data-testid="flush-dialog"]');
}

/** The count after chat_main's flush: its keys are gone, everything else is as it was. */
const afterFlush: CacheCounts = {
  ...cacheCountsFixture,
  instances: cacheCountsFixture.instances.map((i) =>
    i.instance === 'chat_main' ? { ...i, count: { state: 'counted', keys: 0, sessions: 0 } } : i,
  ),
};

describe('key counts on the cards', () => {
  it('show keys and sessions, and say why a cache cannot be cleared', async () => {
    serve({ workspace_view: loadedView });
    await ready();
    const main = one('[data-testid="cache-keys"]', card('chat_main'));
    expect(main.dataset.keys).toBe('1234');
    expect(main.dataset.sessions).toBe('12');
    expect(text('[data-testid="key-count"]', card('chat_main'))).toBe('1.234 anahtar');
    expect(text('[data-testid="session-count"]', card('chat_main'))).toBe('· 12 oturum');
    expect(button('flush', card('chat_main')).disabled).toBe(false);
    expect(button('flush', card('chat_main')).title).toContain('Diğer instance’ların ve başka uygulamaların');

    const websocket = one('[data-testid="cache-keys"]', card('chat_websocket'));
    expect(websocket.dataset.state).toBe('notRunning');
    expect(websocket.textContent).toContain('çalışmıyor');
    const blocked = button('flush', card('chat_websocket'));
    expect(blocked.disabled).toBe(true);
    expect(blocked.title).toContain('LocMem');
  });

  it('say when a count failed, with core’s message', async () => {
    serve({
      workspace_view: loadedView,
      cache_counts: {
        ...cacheCountsFixture,
        instances: cacheCountsFixture.instances.map((i) =>
          i.instance === 'chat_api'
            ? {
                ...i,
                count: {
                  state: 'failed',
                  kind: 'redis_refused',
                  message: 'Redis at redis://127.0.0.1:6379/0 refused the connection',
                  detail: { type: 'redis', url: 'redis://127.0.0.1:6379/0', managed: true },
                },
              }
            : i,
        ),
      },
    });
    await ready();
    expect(one('[data-testid="count-failed"]', card('chat_api')).dataset.kind).toBe('redis_refused');
    // The Turkish card words it from the detail (managed = true: Kovan starts Redis with an instance),
    // never core's English sentence, which stays in the tooltip.
    const error = one('[data-testid="count-error"]', card('chat_api'));
    expect(error.textContent).toBe(
      'redis://127.0.0.1:6379/0 adresindeki Redis henüz çalışmıyor. Kovan onu, onu kullanan ilk instance ile başlatır: birini başlatın, sonra yeniden deneyin.',
    );
    expect(error.textContent).not.toContain('refused the connection');
    expect(error.title).toContain('refused the connection');
  });
});

describe('Cache Temizle on one card', () => {
  it('states the scope, deletes only after confirming, shows the result and counts again', async () => {
    let counts = cacheCountsFixture;
    const calls = serve({
      workspace_view: loadedView,
      cache_counts: () => counts,
      flush_preview_part: chatMainPreview,
      flush_cache: () => {
        counts = afterFlush;
        return chatMainReport;
      },
    });
    await ready();
    const opener = button('flush', card('chat_main'));
    opener.click();
    await waitFor('[data-testid="flush-dialog"][data-phase="confirm"]');

    expect(named(calls, 'flush_preview_part').map((c) => c.args)).toEqual([{ scope: { instances: ['chat_main'] }, part: 'cache' }]);
    expect(text('#flush-title')).toBe('Cache Temizle: chat_main');
    expect(text('[data-testid="flush-line"]')).toBe('chat_main: 1.234 anahtar silinecek (oturumlar dahil)');
    expect(dialog().textContent).toContain('Bunların 12 tanesi oturum');
    expect(dialog().textContent).toContain('silinmeden önce saklanır');
    const stays = one('[data-testid="flush-stays"]');
    expect(stays.textContent).toContain('chat_api: 56 anahtar');
    expect(one('[data-testid="flush-other-apps"]').dataset.count).toBe('7');
    // The safe choice is where Enter lands.
    expect(document.activeElement).toBe(button('flush-cancel'));
    expect(named(calls, 'flush_cache')).toEqual([]);

    button('flush-confirm').click();
    await waitFor('[data-testid="flush-result"]');
    expect(named(calls, 'flush_cache').map((c) => c.args)).toEqual([{ preview: chatMainPreview }]);
    expect(text('[data-testid="flush-result"] .result-title')).toBe('1.234 anahtar silindi (420 ms).');
    await until(() => one('[data-testid="cache-keys"]', card('chat_main')).dataset.keys === '0', 'the new count');
    expect(one('[data-testid="cache-keys"]', card('chat_api')).dataset.keys).toBe('56');

    button('flush-close').click();
    await until(() => target.querySelector('[data-testid="flush-dialog"]') === null, 'the dialog to close');
    expect(document.activeElement).toBe(opener);
  });

  it('says Redis keys can be undone, and Undo puts them back and counts again', async () => {
    let counts = cacheCountsFixture;
    const calls = serve({
      workspace_view: loadedView,
      cache_counts: () => counts,
      flush_preview_part: chatMainPreview,
      flush_cache: () => {
        counts = afterFlush;
        return chatMainReport;
      },
      undo_flush: () => {
        counts = cacheCountsFixture;
        return {
          id: chatMainReport.undo!.id,
          restored: 1230,
          skipped: 4,
          expired: 0,
          failed: 0,
          firstFailure: null,
          cutOff: false,
          durationMs: 80,
        };
      },
    });
    await ready();
    button('flush', card('chat_main')).click();
    await waitFor('[data-testid="flush-dialog"][data-phase="confirm"]');
    expect(dialog().textContent).toContain('«Geri al» ile geri getirilebilir');
    button('flush-confirm').click();
    await waitFor('[data-testid="flush-undo"]');
    expect(text('[data-testid="flush-undo"] p')).toBe('Geri alınabilir: silinen 1.234 anahtar 97 KiB olarak saklandı.');
    await until(() => one('[data-testid="cache-keys"]', card('chat_main')).dataset.keys === '0', 'the count after the flush');

    button('flush-undo-button').click();
    await waitFor('[data-testid="flush-undo-done"]');
    expect(named(calls, 'undo_flush').map((c) => c.args)).toEqual([{ id: chatMainReport.undo!.id }]);
    expect(text('[data-testid="flush-undo-done"]')).toBe(
      '1.230 anahtar geri yüklendi; 4 anahtar o arada yeniden yazıldığı için olduğu gibi bırakıldı, 0 anahtarın süresi dolmuştu.',
    );
    // Once is enough: the button is gone.
    expect(target.querySelector('[data-testid="flush-undo-button"]')).toBeNull();
    await until(() => one('[data-testid="cache-keys"]', card('chat_main')).dataset.keys === '1234', 'the count after the undo');
  });

  it('deletes nothing when the user keeps the keys', async () => {
    const calls = serve({ workspace_view: loadedView, flush_preview_part: chatMainPreview });
    await ready();
    button('flush', card('chat_main')).click();
    await waitFor('[data-testid="flush-dialog"][data-phase="confirm"]');
    button('flush-cancel').click();
    await until(() => target.querySelector('[data-testid="flush-dialog"]') === null, 'the dialog to close');
    expect(named(calls, 'flush_cache')).toEqual([]);
  });

  it('speaks English when the window does', async () => {
    setLanguage('en');
    serve({ workspace_view: loadedView, flush_preview_part: chatMainPreview });
    await ready();
    expect(text('[data-testid="key-count"]', card('chat_main'))).toBe('1,234 keys');
    button('flush', card('chat_main')).click();
    await waitFor('[data-testid="flush-dialog"][data-phase="confirm"]');
    expect(text('[data-testid="flush-line"]')).toBe('chat_main: 1,234 keys will be deleted (sessions included)');
    expect(text('[data-testid="flush-confirm"]')).toBe('Delete 1,234 keys');
  });

  it('says the part in words: the cache goes, the sessions stay', async () => {
    setLanguage('en');
    const part = chatMainPreview.parts[0];
    const cachePart = {
      ...chatMainPreview,
      part: 'cache' as const,
      parts: [{ ...part, keys: 1222, sessions: 0, keptKeys: 12, keptSessions: 12, dbSessions: { state: 'notInScope' as const } }],
      keys: 1222,
      sessions: 0,
    };
    serve({ workspace_view: loadedView, flush_preview_part: cachePart });
    await ready();
    button('flush', card('chat_main')).click();
    await waitFor('[data-testid="flush-dialog"][data-phase="confirm"]');
    expect(text('[data-testid="flush-line"]')).toBe(
      'chat_main: 1,222 cache keys will be deleted; sessions are kept: 12 users stay logged in',
    );
    expect(one('#flush-body').textContent).not.toContain('logged out');
    expect(target.querySelector('[data-testid="flush-db-sessions"]')).toBeNull();
    expect(text('[data-testid="flush-confirm"]')).toBe('Delete 1,222 keys');
  });

  it('counts the session rows and says when it cannot', async () => {
    setLanguage('en');
    const part = chatMainPreview.parts[0];
    const sessionsPart = {
      ...chatMainPreview,
      part: 'sessions' as const,
      parts: [{ ...part, keys: 12, sessions: 12, keptKeys: 1222, keptSessions: 0, dbSessions: { state: 'counted' as const, rows: 4 } }],
      keys: 12,
    };
    serve({ workspace_view: loadedView, flush_preview_part: sessionsPart });
    await ready();
    button('flush', card('chat_main')).click();
    await waitFor('[data-testid="flush-dialog"][data-phase="confirm"]');
    expect(text('[data-testid="flush-line"]')).toBe(
      'chat_main: 12 cached sessions will be deleted (those users will be logged out); the cache is kept: 1,222 keys stay',
    );
    expect(text('[data-testid="flush-db-sessions"]')).toBe('Sessions in the database: 4 rows will be deleted.');
  });

  it('shows progress, stops on request and keeps the dialog open until the flush ends', async () => {
    const flushing = deferred<FlushReport>();
    const calls = serve({
      workspace_view: loadedView,
      flush_preview_part: chatMainPreview,
      flush_cache: () => flushing.promise,
      cancel_flush: true,
    });
    await ready();
    button('flush', card('chat_main')).click();
    await waitFor('[data-testid="flush-dialog"][data-phase="confirm"]');
    button('flush-confirm').click();
    await waitFor('[data-testid="flush-progress"]');

    await emit('cache://progress', { operation: 'flush', deleted: 500, sessionsDeleted: 3, expected: 1234 });
    await until(() => text('[data-testid="flush-progress"]').includes('Siliniyor: 500 / 1.234 anahtar'), 'progress');
    expect(one('progress', dialog()).getAttribute('value')).toBe('500');

    // Escape does not hide a flush that is still deleting.
    dialog().dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', bubbles: true }));
    expect(target.querySelector('[data-testid="flush-dialog"]')).not.toBeNull();

    button('flush-stop').click();
    await until(() => named(calls, 'cancel_flush').length === 1, 'cancel_flush');
    flushing.resolve({
      ...chatMainReport,
      deleted: 500,
      sessionsDeleted: 3,
      cancelled: true,
      instances: [{ ...chatMainReport.instances[0], deleted: 500, sessionsDeleted: 3, outcome: { state: 'cancelled' } }],
    });
    await waitFor('[data-testid="flush-result"][data-cancelled="true"]');
    expect(text('[data-testid="flush-result"] .result-title')).toBe('Durduruldu: 500 anahtar silindi, kalanlar yerinde.');
    expect(text('[data-testid="flush-result"] li[data-instance="chat_main"]')).toBe(
      'chat_main: durduruldu, 500 anahtar silindi',
    );
  });

  it('explains a failed count and deletes nothing; Try again counts again', async () => {
    let attempts = 0;
    const calls = serve({
      workspace_view: loadedView,
      flush_preview_part: () => {
        attempts += 1;
        if (attempts === 1) {
          throw {
            kind: 'redis_refused',
            message: 'Redis at redis://127.0.0.1:6379/0 refused the connection',
            detail: { type: 'redis', url: 'redis://127.0.0.1:6379/0', managed: false },
          };
        }
        return chatMainPreview;
      },
    });
    await ready();
    button('flush', card('chat_main')).click();
    const error = await waitFor('[data-testid="flush-error"]');
    expect(error.dataset.kind).toBe('redis_refused');
    expect(error.textContent).toContain('redis://127.0.0.1:6379/0 adresindeki Redis bağlantıyı reddetti.');
    expect(error.textContent).toContain('Hiçbir şey silinmedi.');
    button('flush-retry').click();
    await waitFor('[data-testid="flush-dialog"][data-phase="confirm"]');
    expect(named(calls, 'flush_cache')).toEqual([]);
  });
});

describe('Tüm Cache’i Temizle', () => {
  it('lists every instance’s share and the other apps’ keys that stay', async () => {
    const calls = serve({
      workspace_view: loadedView,
      flush_preview_part: {
        ...chatMainPreview,
        scope: 'all',
        instances: ['chat_main', 'chat_api', 'chat_websocket'],
        keys: 1290,
      },
    });
    await ready();
    button('flush-all').click();
    await waitFor('[data-testid="flush-dialog"][data-phase="confirm"]');
    expect(named(calls, 'flush_preview_part').map((c) => c.args)).toEqual([{ scope: 'all', part: 'cache' }]);
    expect(text('#flush-title')).toBe('Tüm Cache’i Temizle');
    const lines = [...dialog().querySelectorAll('[data-testid="flush-scope"] > li')].map((li) =>
      li.textContent?.replace(/\s+/g, ' ').trim(),
    );
    expect(lines[0]).toContain('chat_main: 1.234 anahtar silinecek (oturumlar dahil)');
    expect(lines[1]).toBe('chat_api: 56 anahtar silinecek (oturumlar dahil)');
    expect(lines[2]).toContain('chat_websocket: silinecek bir şey yok.');
    expect(text('[data-testid="flush-total"]')).toBe('Toplam 1.290 anahtar silinecek.');
    expect(text('[data-testid="flush-other-apps"]')).toBe(
      'Başka uygulamalar: aynı Redis veritabanındaki 7 anahtar',
    );
    expect(text('[data-testid="flush-confirm"]')).toBe('1.290 anahtarı sil');
  });
});

describe('the flush dialog’s part picker', () => {
  const glob = 'views.decorators.cache.*';
  /** chat_main's 1,234 keys, 12 of them sessions, 4 session rows: each part as core counts it. */
  function previewOf(args: Record<string, unknown>): FlushPreview {
    const part = args.part as FlushPart;
    const base = chatMainPreview.parts[0];
    const [keys, sessions, keptKeys, keptSessions, rows]: number[] =
      part === 'cache'
        ? [1222, 0, 12, 12, 0]
        : part === 'sessions'
          ? [12, 12, 1222, 0, 4]
          : part === 'all'
            ? [1234, 12, 0, 0, 4]
            : [300, 0, 934, 12, 0];
    const takesRows = part === 'sessions' || part === 'all';
    return {
      ...chatMainPreview,
      scope: args.scope as FlushScope,
      part,
      parts: [
        {
          ...base,
          keys,
          sessions,
          keptKeys,
          keptSessions,
          dbSessions: takesRows ? { state: 'counted', rows } : { state: 'notInScope' },
        },
      ],
      keys,
      sessions,
      dbSessions: rows,
    };
  }

  function pick(choice: string): void {
    const radio = one(`[data-testid="flush-part-choice"][data-choice="${choice}"] input`) as HTMLInputElement;
    radio.focus();
    radio.click();
  }

  function checked(): string | undefined {
    return all('[data-testid="flush-part-choice"] input').find((i) => (i as HTMLInputElement).checked)?.closest('label')
      ?.dataset.choice;
  }

  const parts = (calls: Call[]) => named(calls, 'flush_preview_part').map((c) => c.args);

  it('previews the chosen part, states it with its counts, and flushes what was previewed', async () => {
    const calls = serve({ workspace_view: loadedView, flush_preview_part: previewOf, flush_cache: chatMainReport });
    await ready();
    button('flush', card('chat_main')).click();
    await waitFor('[data-testid="flush-dialog"][data-phase="confirm"]');
    // The first default is the cache: sessions kept.
    expect(checked()).toBe('cache');
    expect(all('[data-testid="flush-part-choice"]').map((l) => l.textContent?.trim())).toEqual([
      'Önbellek (oturumlar korunur)',
      'Oturumlar',
      'Hepsi',
      'Desen',
    ]);
    expect(text('[data-testid="flush-scope-words"]')).toBe(
      '1.222 cache anahtarı; oturumlar korunur: 12 kullanıcı oturumda kalır',
    );
    expect(parts(calls)).toEqual([{ scope: { instances: ['chat_main'] }, part: 'cache' }]);

    pick('sessions');
    await until(() => one('[data-testid="flush-scope-words"]').dataset.part === 'sessions', 'the sessions preview');
    expect(parts(calls)[1]).toEqual({ scope: { instances: ['chat_main'] }, part: 'sessions' });
    expect(text('[data-testid="flush-scope-words"]')).toBe(
      '12 cache oturumu ve 4 oturum satırı: herkesin oturumu kapanır; cache korunur',
    );
    // Choosing stays in the picker: the arrow keys go on from there.
    expect(document.activeElement?.closest('[data-testid="flush-part"]')).not.toBeNull();

    pick('all');
    await until(() => one('[data-testid="flush-scope-words"]').dataset.part === 'all', 'the whole preview');
    expect(parts(calls)[2].part).toBe('all');
    expect(text('[data-testid="flush-scope-words"]')).toBe('1.234 anahtar, bunların 12 tanesi oturum: herkesin oturumu kapanır');

    button('flush-confirm').click();
    await waitFor('[data-testid="flush-result"]');
    expect((named(calls, 'flush_cache')[0].args.preview as FlushPreview).part).toBe('all');
  });

  it('sends a key pattern as match, and refuses a bad one with core’s words', async () => {
    const coreSentence =
      'the key pattern "user:[0-9*" leaves a `[` class open: close it with `]`, or write `\\[` for a literal `[`';
    const calls = serve({
      workspace_view: loadedView,
      flush_preview_part: (args: Record<string, unknown>) => {
        const part = args.part as FlushPart;
        if (typeof part === 'object' && part.match === 'user:[0-9*') {
          throw { kind: 'bad_glob', message: coreSentence, detail: null };
        }
        return previewOf(args);
      },
    });
    await ready();
    button('flush', card('chat_main')).click();
    await waitFor('[data-testid="flush-dialog"][data-phase="confirm"]');

    pick('match');
    // Nothing typed yet: nothing is counted, and nothing can be confirmed.
    await waitFor('[data-testid="flush-pattern-wanted"]');
    expect(parts(calls).length).toBe(1);
    expect(target.querySelector('[data-testid="flush-confirm"]')).toBeNull();

    const field = one('[data-testid="flush-glob"]') as HTMLInputElement;
    field.value = 'user:[0-9*';
    field.dispatchEvent(new Event('input', { bubbles: true }));
    button('flush-glob-apply').click();
    await waitFor('[data-testid="flush-error"][data-kind="bad_glob"]');
    expect(parts(calls)[1]).toEqual({ scope: { instances: ['chat_main'] }, part: { match: 'user:[0-9*' } });
    expect(text('[data-testid="flush-error"] .copyable')).toBe(
      'Bu anahtar deseni kullanılamaz: hiçbir şey sayılmadı ya da silinmedi.',
    );
    expect(text('[data-testid="flush-error-detail"]')).toBe(coreSentence);
    expect(target.querySelector('[data-testid="flush-confirm"]')).toBeNull();

    field.value = glob;
    field.dispatchEvent(new Event('input', { bubbles: true }));
    button('flush-glob-apply').click();
    await waitFor('[data-testid="flush-dialog"][data-phase="confirm"]');
    expect(parts(calls)[2]).toEqual({ scope: { instances: ['chat_main'] }, part: { match: glob } });
    expect(text('[data-testid="flush-scope-words"]')).toBe(`${glob} ile eşleşen 300 anahtar; diğer anahtarlar kalır`);
  });

  it('remembers the last choice per workspace and instance', async () => {
    const calls = serve({ workspace_view: loadedView, flush_preview_part: previewOf });
    await ready();
    button('flush', card('chat_main')).click();
    await waitFor('[data-testid="flush-dialog"][data-phase="confirm"]');
    pick('match');
    const field = (await waitFor('[data-testid="flush-glob"]')) as HTMLInputElement;
    field.value = glob;
    field.dispatchEvent(new Event('input', { bubbles: true }));
    button('flush-glob-apply').click();
    await until(() => parts(calls).length === 2, 'the pattern’s preview');
    await waitFor('[data-testid="flush-dialog"][data-phase="confirm"]');
    button('flush-cancel').click();
    await until(() => target.querySelector('[data-testid="flush-dialog"]') === null, 'the dialog to close');
    expect(JSON.parse(localStorage.getItem('kovan.flushPart:/home/dev/projects/context7/kovan.toml:instances:chat_main')!))
      .toEqual({ choice: 'match', glob });

    // Opened again, chat_main's dialog counts the pattern at once.
    button('flush', card('chat_main')).click();
    await waitFor('[data-testid="flush-dialog"][data-phase="confirm"]');
    expect(parts(calls)[2].part).toEqual({ match: glob });
    expect(checked()).toBe('match');
    expect((one('[data-testid="flush-glob"]') as HTMLInputElement).value).toBe(glob);
    button('flush-cancel').click();
    await until(() => target.querySelector('[data-testid="flush-dialog"]') === null, 'the dialog to close');

    // Another instance has its own choice: the first default, cache.
    button('flush', card('chat_api')).click();
    await waitFor('[data-testid="flush-dialog"][data-phase="confirm"]');
    expect(parts(calls)[3]).toEqual({ scope: { instances: ['chat_api'] }, part: 'cache' });
    expect(checked()).toBe('cache');
  });

  it('speaks English', async () => {
    setLanguage('en');
    serve({ workspace_view: loadedView, flush_preview_part: previewOf });
    await ready();
    button('flush', card('chat_main')).click();
    await waitFor('[data-testid="flush-dialog"][data-phase="confirm"]');
    expect(all('[data-testid="flush-part-choice"]').map((l) => l.textContent?.trim())).toEqual([
      'Cache (sessions kept)',
      'Sessions (everyone logged out)',
      'Everything',
      'Key pattern',
    ]);
    expect(text('[data-testid="flush-scope-words"]')).toBe('1,222 cache keys; sessions are kept: 12 users stay logged in');
    pick('sessions');
    await until(() => one('[data-testid="flush-scope-words"]').dataset.part === 'sessions', 'the sessions preview');
    expect(text('[data-testid="flush-scope-words"]')).toBe(
      '12 cached sessions and 4 session rows: everyone is logged out; the cache is kept',
    );
  });
});
