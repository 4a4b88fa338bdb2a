// The History section through the whole window: the newest events with translated summaries, the
// instance filter and the kind chips (as core's kind strings), the alert mark, one request at a time.
import { describe, expect, it } from 'vitest';

import type { EventRecord } from './lib/bindings/EventRecord';
import type { HistoryEvent } from './lib/bindings/HistoryEvent';
import { setLanguage } from './lib/i18n/index.svelte';
import { loadedView } from './test/fixtures';
import { all, type Call, deferred, named, one, render, serve, target, text, until, waitFor } from './test/harness';

const now = new Date();
/** Today at h:m:s local time (seconds after midnight in these tests): always "today". */
const today = (h: number, m: number, s: number) => new Date(now.getFullYear(), now.getMonth(), now.getDate(), h, m, s).getTime();
const jan15 = new Date(2025, 0, 15, 14, 3, 9).getTime();

// Events as supervisor/*.rs, cache/flusher.rs and health/mod.rs record them (store::HistoryEvent); newest first.
const started = { frontDoor: false, unit: null, initdb: null, millis: null };
const flushed = { part: 'cache', dbSessionsDeleted: null, undo: null };
const history: EventRecord[] = [
  { id: 9, at: today(0, 0, 9), instance: 'chat_main', event: { kind: 'flush', ...flushed, scope: { instances: ['chat_main'] }, startedAt: '2026-11-27T12:00:01Z', durationMs: 420, deleted: 42, sessionsDeleted: 0, outcome: { state: 'done' } } },
  { id: 8, at: today(0, 0, 8), instance: 'chat_api', event: { kind: 'health-down', error: 'connection refused', port: 8001 } },
  { id: 7, at: today(0, 0, 7), instance: 'chat_api', event: { kind: 'crash', code: 1, signal: null, port: 8001 } },
  { id: 6, at: today(0, 0, 6), instance: 'chat_websocket', event: { kind: 'crash', code: null, signal: 9, port: 8002 } },
  { id: 5, at: today(0, 0, 5), instance: 'chat_api', event: { kind: 'restart', attempt: 2 } },
  { id: 4, at: today(0, 0, 4), instance: 'chat_main', event: { kind: 'stop', how: 'killed', millis: 5012, pid: null, by: null } },
  { id: 3, at: today(0, 0, 3), instance: 'chat_api', event: { kind: 'health-up', error: null, port: 8001 } },
  { id: 2, at: today(0, 0, 2), instance: 'chat_api', event: { kind: 'flush', ...flushed, scope: 'all', startedAt: '2026-11-27T11:00:00Z', durationMs: 12, deleted: 1234, sessionsDeleted: 12, outcome: { state: 'done' } } },
  { id: 1, at: jan15, instance: 'chat_main', event: { kind: 'start', ...started, port: 8000, pid: 4242 } },
];

function row(id: number): HTMLElement {
  const rows = all('[data-testid="event"]');
  const index = history.findIndex((e) => e.id === id);
  return rows[index];
}

function summaryOf(kind: string, instance: string): string {
  return text('[data-testid="event-summary"]', one(`[data-testid="event"][data-kind="${kind}"][data-instance="${instance}"]`));
}

function lastArgs(calls: Call[]): Record<string, unknown> | undefined {
  const asked = named(calls, 'event_history');
  return asked[asked.length - 1]?.args;
}

function lastKinds(calls: Call[]): string {
  return String(lastArgs(calls)?.kinds ?? '');
}

function chip(name: string): HTMLInputElement {
  return one(`[data-testid="timeline-chip"][data-chip="${name}"] input`) as HTMLInputElement;
}

function select(value: string): void {
  const el = one('[data-testid="timeline-instance"]') as HTMLSelectElement;
  el.value = value;
  el.dispatchEvent(new Event('change', { bubbles: true }));
}

describe('the History section', () => {
  it('lists the newest events with local time, instance, kind and a translated summary', async () => {
    const calls = serve({ workspace_view: loadedView, event_history: history });
    render();
    await waitFor('[data-testid="event"]');
    expect(text('#timeline-title')).toBe('Geçmiş');
    expect(named(calls, 'event_history')[0].args).toEqual({ instance: null, kinds: [], limit: 100 });
    expect(all('[data-testid="event"]').map((r) => r.dataset.kind)).toEqual(history.map((e) => e.event.kind));

    const flush = row(9);
    expect(flush.dataset.instance).toBe('chat_main');
    expect(text('[data-testid="event-time"]', flush)).toBe('00:00:09');
    expect(text('[data-testid="event-instance"]', flush)).toBe('chat_main');
    expect(text('[data-testid="event-kind"]', flush)).toBe('Cache temizlendi');
    expect(text('[data-testid="event-summary"]', flush)).toBe('42 anahtar silindi (chat_main)');
    expect(text('[data-testid="event-summary"]', row(2))).toBe('1.234 anahtar silindi, 12 oturum kapandı (tümü)');

    expect(text('[data-testid="event-kind"]', row(8))).toBe('Yanıt vermiyor');
    expect(summaryOf('health-down', 'chat_api')).toBe('connection refused');
    expect(summaryOf('crash', 'chat_api')).toBe('çıkış kodu 1');
    expect(summaryOf('crash', 'chat_websocket')).toBe('9 sinyaliyle sonlandı');
    expect(text('[data-testid="event-kind"]', row(7))).toBe('Çöktü');
    expect(text('[data-testid="event-summary"]', row(5))).toBe('2. deneme');
    expect(text('[data-testid="event-summary"]', row(4))).toBe('SIGTERM’e yanıt vermedi, SIGKILL ile durduruldu (5.012 ms)');
    expect(text('[data-testid="event-summary"]', row(3))).toBe('port 8001 üzerinde /health/ yanıtı olumlu');

    // Another day shows its date.
    const start = row(1);
    expect(text('[data-testid="event-time"]', start)).toBe('15.01.2025 14:03:09');
    expect(text('[data-testid="event-kind"]', start)).toBe('Başlatıldı');
    expect(text('[data-testid="event-summary"]', start)).toBe('port 8000, PID 4242');
  });

  it('words a front-door reload, a gone-at-once stop and a row of a kind this window does not know', async () => {
    const more: EventRecord[] = [
      { id: 23, at: today(0, 0, 23), instance: 'chat', event: { kind: 'reload', members: ['chat_main', 'chat_api'] } },
      { id: 22, at: today(0, 0, 22), instance: 'chat_api', event: { kind: 'stop', how: 'already_gone', millis: 3, pid: 41, by: 'kovan down' } },
      { id: 21, at: today(0, 0, 21), instance: 'chat_main', event: { kind: 'unknown', recorded: 'later_kind', detail: { n: 1 } } },
    ];
    serve({ workspace_view: loadedView, event_history: more });
    render();
    await waitFor('[data-testid="event"]');
    const rows = all('[data-testid="event"]');
    expect(rows.map((r) => r.dataset.kind)).toEqual(['reload', 'stop', 'later_kind']);
    expect(text('[data-testid="event-kind"]', rows[0])).toBe('Ön kapı yeniden yüklendi');
    expect(text('[data-testid="event-summary"]', rows[0])).toBe('yönlendirdiği: chat_main, chat_api');
    expect(text('[data-testid="event-summary"]', rows[1])).toBe('ilk sinyalde zaten kapanmıştı (3 ms)');
    expect(text('[data-testid="event-kind"]', rows[2])).toBe('later_kind');
    expect(text('[data-testid="event-summary"]', rows[2])).toBe('');
    setLanguage('en');
    await until(() => text('[data-testid="event-kind"]', rows[0]) === 'Front door reloaded', 'English');
    expect(text('[data-testid="event-summary"]', rows[1])).toBe('already gone at the first signal (3 ms)');
  });

  it('marks the events a notification is sent for', async () => {
    serve({ workspace_view: loadedView, event_history: history });
    render();
    await waitFor('[data-testid="event"]');
    const rows = all('[data-testid="event"]');
    const alerted = rows.filter((r) => r.dataset.alert === 'true').map((r) => history[rows.indexOf(r)].id);
    expect(alerted).toEqual([8, 7, 6]);
    const bell = one('[data-testid="event-alert"]', row(8));
    expect(bell.getAttribute('aria-label')).toBe('Bildirim gönderilen olay');
    expect(row(9).dataset.alert).toBe('false');
    expect(row(9).querySelector('[data-testid="event-alert"]')).toBeNull();
  });

  it('asks for one instance’s events when the instance filter says so', async () => {
    const calls = serve({
      workspace_view: loadedView,
      event_history: (args: Record<string, unknown>) => history.filter((e) => args.instance === null || e.instance === args.instance),
    });
    render();
    await waitFor('[data-testid="event"]');
    const label = one('[data-testid="timeline-instance"]').closest('label');
    expect(label?.textContent).toContain('Instance');
    const options = all('[data-testid="timeline-instance"] option').map((o) => o.textContent);
    expect(options).toEqual(['Tümü', 'chat_main', 'chat_api', 'chat_websocket']);

    select('chat_api');
    await until(() => all('[data-testid="event"]').every((r) => r.dataset.instance === 'chat_api'), 'chat_api only');
    expect(lastArgs(calls)).toEqual({ instance: 'chat_api', kinds: [], limit: 100 });
    expect(all('[data-testid="event"]').length).toBe(5);
  });

  it('passes the kind chips as core’s kind strings', async () => {
    const calls = serve({
      workspace_view: loadedView,
      event_history: (args: Record<string, unknown>) => history.filter((e) => (args.kinds as string[]).length === 0 || (args.kinds as string[]).includes(e.event.kind)),
    });
    render();
    await waitFor('[data-testid="event"]');
    expect(all('[data-testid="timeline-chip"]').map((c) => c.textContent?.trim())).toEqual([
      'Başlatma',
      'Durdurma',
      'Çökme',
      'Yeniden başlatma',
      'Cache temizleme',
      'Sağlık',
    ]);
    expect(one('[data-testid="timeline-chip"]').closest('fieldset')?.querySelector('legend')?.textContent).toBe('Olay türü');

    chip('crash').click();
    await until(() => lastKinds(calls) === 'crash', 'the crash filter');
    await until(() => all('[data-testid="event"]').length === 2, 'the two crashes');

    chip('health').click();
    await until(() => all('[data-testid="event"]').length === 4, 'crashes and health');
    expect(lastArgs(calls)).toEqual({
      instance: null,
      kinds: ['crash', 'health-up', 'health-down'],
      limit: 100,
    });

    chip('crash').click();
    chip('health').click();
    chip('start').click();
    await until(() => lastKinds(calls) === 'start,failed_to_start', 'the start filter');
    await until(() => all('[data-testid="event"]').length === 1, 'the one start');
  });

  it('says when nothing matches, and when the history cannot be read', async () => {
    let fail = false;
    serve({
      workspace_view: loadedView,
      event_history: () => {
        if (fail) throw { kind: 'store_unavailable', message: 'history database is locked' };
        return [];
      },
    });
    render();
    await waitFor('[data-testid="timeline-empty"]');
    expect(text('[data-testid="timeline-empty"]')).toBe('Henüz kayıtlı olay yok.');
    chip('flush').click();
    await until(() => text('[data-testid="timeline-empty"]') === 'Bu süzgeçlere uyan olay yok.', 'the filtered empty text');
    fail = true;
    chip('flush').click();
    const failure = await waitFor('[data-testid="timeline-error"]');
    expect(failure.dataset.kind).toBe('store_unavailable');
    expect(failure.textContent?.trim()).toBe('Geçmiş okunamadı: Kovan’ın geçmişi kapalı: veritabanı açılamadı.');
  });

  it('never has two requests out, and answers for the newest filters', async () => {
    const answers: ReturnType<typeof deferred<EventRecord[]>>[] = [];
    const calls = serve({
      workspace_view: loadedView,
      event_history: () => {
        const next = deferred<EventRecord[]>();
        answers.push(next);
        return next.promise;
      },
    });
    render();
    await until(() => answers.length === 1, 'the first request');
    chip('crash').click();
    chip('stop').click();
    await new Promise((r) => setTimeout(r, 30));
    expect(named(calls, 'event_history').length).toBe(1);
    answers[0].resolve(history);
    await until(() => answers.length === 2, 'the follow-up request');
    expect(named(calls, 'event_history')[1].args).toEqual({ instance: null, kinds: ['stop', 'crash'], limit: 100 });
    // The first answer was for other filters: not shown.
    expect(target.querySelector('[data-testid="event"]')).toBeNull();
    answers[1].resolve(history.filter((e) => ['stop'].includes(e.event.kind)));
    await until(() => all('[data-testid="event"]').length === 1, 'the stop event');
  });

  it('speaks English when the window does', async () => {
    setLanguage('en');
    serve({ workspace_view: loadedView, event_history: history });
    render();
    await waitFor('[data-testid="event"]');
    expect(text('#timeline-title')).toBe('History');
    expect(text('[data-testid="event-summary"]', row(9))).toBe('42 keys deleted (chat_main)');
    expect(text('[data-testid="event-summary"]', row(2))).toBe('1,234 keys deleted, 12 sessions ended (all)');
    expect(text('[data-testid="event-kind"]', row(8))).toBe('Not answering');
    expect(text('[data-testid="event-summary"]', row(8))).toBe('connection refused');
    expect(text('[data-testid="event-summary"]', row(7))).toBe('exit code 1');
    expect(text('[data-testid="event-time"]', row(1))).toBe('2025-01-15 14:03:09');
    expect(one('[data-testid="event-alert"]', row(7)).getAttribute('aria-label')).toBe('An event Kovan sends a notification for');
    expect(all('[data-testid="timeline-instance"] option')[0].textContent).toBe('All');
    expect(all('[data-testid="timeline-chip"]').map((c) => c.textContent?.trim())).toEqual([
      'Start',
      'Stop',
      'Crash',
      'Restart',
      'Cache clear',
      'Health',
    ]);
  });
});

describe('Undo in the History', () => {
  // One flush of two instances: one snapshot, named on both rows (cache/flusher.rs records `undo`).
  const flushEvent = (deleted: number, undo: string | null): HistoryEvent => ({
    kind: 'flush',
    scope: { instances: ['chat_main', 'chat_api'] },
    part: 'cache',
    startedAt: '2026-11-27T12:00:01Z',
    durationMs: 420,
    deleted,
    sessionsDeleted: 0,
    dbSessionsDeleted: 0,
    outcome: { state: 'done' },
    undo,
  });
  const flushes: EventRecord[] = [
    { id: 12, at: today(0, 0, 12), instance: 'chat_main', event: flushEvent(40, 'snap-7') },
    { id: 11, at: today(0, 0, 11), instance: 'chat_api', event: flushEvent(2, 'snap-7') },
    // A LocMem flush: nothing saved, nothing to undo.
    { id: 10, at: today(0, 0, 10), instance: 'chat_websocket', event: flushEvent(5, null) },
  ];
  const undoReport = { id: 'snap-7', restored: 39, skipped: 2, expired: 1, failed: 0, firstFailure: null, cutOff: false, durationMs: 8 };

  it('puts a flush’s keys back with undo_flush and says what came back, in both languages', async () => {
    const calls = serve({ workspace_view: loadedView, event_history: flushes, undo_flush: undoReport });
    render();
    await waitFor('[data-testid="event"]');
    expect(all('[data-testid="event-undo"]').map((u) => u.dataset.undoId)).toEqual(['snap-7', 'snap-7']);
    expect(row12().querySelector('[data-testid="event-undo-button"]')?.textContent?.trim()).toBe('Geri al');
    const locmem = all('[data-testid="event"]')[2];
    expect(locmem.querySelector('[data-testid="event-undo"]')).toBeNull();

    (one('[data-testid="event-undo-button"]', row12()) as HTMLButtonElement).click();
    await waitFor('[data-testid="event-undo-done"]');
    expect(named(calls, 'undo_flush').map((c) => c.args)).toEqual([{ id: 'snap-7' }]);
    expect(text('[data-testid="event-undo-done"]', row12())).toBe(
      '39 anahtar geri yüklendi; 2 anahtar o arada yeniden yazıldığı için olduğu gibi bırakıldı, 1 anahtarın süresi dolmuştu.',
    );
    // Undone: no button on either row of the flush.
    expect(target.querySelector('[data-testid="event-undo-button"]')).toBeNull();

    setLanguage('en');
    await until(() => text('[data-testid="event-undo-done"]', row12()).startsWith('39 keys restored'), 'English');
    expect(text('[data-testid="event-undo-done"]', row12())).toBe(
      '39 keys restored; 2 written again since were left as they are, 1 had expired.',
    );
    expect(named(calls, 'undo_flush').length).toBe(1);
  });

  it('says why an undo failed, and drops the button when the snapshot is gone', async () => {
    setLanguage('en');
    let answer: unknown = { kind: 'redis_refused', message: 'Redis at redis://127.0.0.1:6379/0 refused the connection', detail: { type: 'redis', url: 'redis://127.0.0.1:6379/0', managed: false } };
    const calls = serve({
      workspace_view: loadedView,
      event_history: flushes,
      undo_flush: () => {
        throw answer;
      },
    });
    render();
    await waitFor('[data-testid="event-undo-button"]');
    (one('[data-testid="event-undo-button"]', row12()) as HTMLButtonElement).click();
    await waitFor('[data-testid="event-undo-failed"][data-kind="redis_refused"]');
    // Redis was down: trying again can work, the button stays.
    expect(one('[data-testid="event-undo-button"]', row12())).toBeTruthy();

    answer = {
      kind: 'undo_failed',
      message: 'snapshot snap-7 cannot be read (/data/undo/snap-7.snap: No such file or directory).',
      detail: null,
    };
    (one('[data-testid="event-undo-button"]', row12()) as HTMLButtonElement).click();
    await waitFor('[data-testid="event-undo-failed"][data-kind="undo_failed"]');
    expect(named(calls, 'undo_flush').map((c) => c.args)).toEqual([{ id: 'snap-7' }, { id: 'snap-7' }]);
    const failed = one('[data-testid="event-undo-failed"]', row12());
    expect(failed.textContent?.trim()).toBe('Could not undo.');
    expect(failed.title).toContain('cannot be read');
    expect(target.querySelector('[data-testid="event-undo-button"]')).toBeNull();
  });

  function row12(): HTMLElement {
    return all('[data-testid="event"]')[0];
  }
});
