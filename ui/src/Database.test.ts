// A unit's database on its card and in its dialog, as a user meets it: the size and who has it
// open, a reset confirmed by typing the name (with migrate's lines), a refusal naming the holder,
// a clone from another unit, and a database Kovan did not create left alone.
import type { Channel } from '@tauri-apps/api/core';
import { describe, expect, it } from 'vitest';

import type { DatabaseStatus } from './lib/bindings/DatabaseStatus';
import { setLanguage } from './lib/i18n/index.svelte';
import { loadedView } from './test/fixtures';
import { button, card, named, one, render, sender, serve, text, until, waitFor } from './test/harness';

function row(instance: string, over: Partial<DatabaseStatus> = {}): DatabaseStatus {
  return {
    instance,
    unit: instance,
    name: `db_${instance}.sqlite3`,
    engine: 'sqlite',
    shown: `/p/db_${instance}.sqlite3 (SQLite)`,
    sizeBytes: 139264,
    connections: [],
    snapshot: false,
    notKovans: null,
    ...over,
  };
}

const rows: DatabaseStatus[] = [
  row('chat_main', { connections: [{ pid: 4000, applicationName: 'chat_main' }] }),
  row('chat_api', { snapshot: true }),
  row('chat_websocket', { sizeBytes: null, notKovans: 'kovan.toml names it itself; Kovan’s name would be db_chat_websocket.sqlite3' }),
];

async function ready(): Promise<void> {
  render();
  await waitFor('[data-testid="database-line"]');
}

function type(value: string): void {
  const input = one('[data-testid="database-typed"]') as HTMLInputElement;
  input.value = value;
  input.dispatchEvent(new Event('input', { bubbles: true }));
}

describe('the database line on a card', () => {
  it('shows the size, who has it open and a waiting snapshot, and leaves a database Kovan did not create alone', async () => {
    serve({ workspace_view: loadedView, database_status: rows });
    await ready();
    expect(one('[data-testid="database-line"]', card('chat_main')).dataset.connections).toBe('1');
    expect(text('[data-testid="database-size"]', card('chat_main'))).toBe('136 KiB');
    const open = one('[data-testid="database-connections"]', card('chat_main'));
    expect(open.textContent?.trim()).toBe('· 1 bağlantı');
    expect(open.title).toBe('chat_main (PID 4000)');
    expect(text('[data-testid="database-snapshot"]', card('chat_api'))).toBe('· anlık kopya var');
    const lone = button('database-open', card('chat_websocket'));
    expect(lone.disabled).toBe(true);
    expect(lone.title).toContain('kovan.toml names it itself');
    expect(text('[data-testid="database-size"]', card('chat_websocket'))).toBe('henüz oluşturulmadı');
  });
});

describe('the database dialog', () => {
  it('resets only once the name is typed, shows migrate’s lines, offers the snapshot back and looks again', async () => {
    let restorable = false;
    const calls = serve({
      workspace_view: loadedView,
      database_status: () => rows.map((r) => (r.instance === 'chat_api' ? { ...r, snapshot: restorable } : r)),
      database_reset: (args: Record<string, unknown>) => {
        const send = sender<string>(args.onLine as Channel<string>);
        send('Operations to perform:');
        send('  Applying sessions.0001_initial... OK');
        restorable = true;
        return { database: '/p/db_chat_api.sqlite3', snapshot: '/p/db_chat_api.sqlite3.kovan-snapshot', millis: 1200 };
      },
    });
    await ready();
    button('database-open', card('chat_api')).click();
    await waitFor('[data-testid="database-dialog"]');
    expect(text('#database-title')).toBe('Veritabanı: db_chat_api.sqlite3');
    const confirm = button('database-confirm');
    expect(confirm.disabled).toBe(true);
    type('db_chat_api');
    await until(() => confirm.disabled, 'still refused for a wrong name');
    confirm.click();
    expect(named(calls, 'database_reset')).toHaveLength(0);
    type('db_chat_api.sqlite3');
    await until(() => !confirm.disabled, 'the confirm button to wake');
    const before = named(calls, 'database_status').length;
    confirm.click();
    await waitFor('[data-testid="database-status"][data-result="done"]');
    expect(named(calls, 'database_reset')[0].args.instance).toBe('chat_api');
    expect(text('[data-testid="database-status"]')).toBe(
      'Sıfırlandı ve migrate edildi (1 sn). Önceki hali anlık kopyada: “Geri yükle” ile geri alınır.',
    );
    expect(text('[data-testid="database-output"]')).toContain('Applying sessions.0001_initial... OK');
    await until(() => named(calls, 'database_status').length > before, 'the cards to look again');
    // The name must be typed again for the next action.
    expect(button('database-confirm').disabled).toBe(true);
  });

  it('says in the window’s words who holds a database that is in use', async () => {
    serve({
      workspace_view: loadedView,
      database_status: rows,
      database_restore: () => {
        throw {
          kind: 'database_in_use',
          message: '/p/db_chat_api.sqlite3 is in use: chat_api (PID 4001). Stop them (kovan stop …) or close those sessions, then try again.',
          detail: { type: 'database', database: '/p/db_chat_api.sqlite3', holders: [{ pid: 4001, applicationName: 'chat_api' }] },
        };
      },
    });
    await ready();
    button('database-open', card('chat_api')).click();
    await waitFor('[data-testid="database-dialog"]');
    one('[data-testid="database-choice"][data-action="restore"] input').click();
    type('db_chat_api.sqlite3');
    await until(() => !button('database-confirm').disabled, 'the confirm button to wake');
    button('database-confirm').click();
    const failed = await waitFor('[data-testid="database-status"][data-result="failed"]');
    expect(failed.dataset.kind).toBe('database_in_use');
    expect(failed.textContent?.trim()).toBe('/p/db_chat_api.sqlite3 kullanımda: chat_api (PID 4001). Önce onları durdurun.');
    expect(failed.title).toContain('kovan stop');
  });

  it('clones from another unit, offers no restore without a snapshot, and warns of the holders, in English', async () => {
    setLanguage('en');
    const calls = serve({
      workspace_view: loadedView,
      database_status: rows,
      database_clone: { database: '/p/db_chat_main.sqlite3', snapshot: '/p/db_chat_main.sqlite3.kovan-snapshot', millis: 80 },
    });
    await ready();
    button('database-open', card('chat_main')).click();
    await waitFor('[data-testid="database-dialog"]');
    const choices = [...document.querySelectorAll<HTMLElement>('[data-testid="database-choice"]')].map((c) => c.dataset.action);
    expect(choices).toEqual(['reset', 'clone']);
    expect(text('[data-testid="database-held"]')).toBe(
      'Open by: chat_main (PID 4000). Stop them first: Kovan does not change a database that is open.',
    );
    one('[data-testid="database-choice"][data-action="clone"] input').click();
    await waitFor('[data-testid="database-source"]');
    // A database Kovan did not create is no source.
    const sources = [...document.querySelectorAll<HTMLOptionElement>('[data-testid="database-source"] option')].map((o) => o.value);
    expect(sources).toEqual(['chat_api']);
    type('db_chat_main.sqlite3');
    await until(() => !button('database-confirm').disabled, 'the confirm button to wake');
    expect(text('[data-testid="database-confirm"]')).toBe('Copy over it');
    button('database-confirm').click();
    await waitFor('[data-testid="database-status"][data-result="done"]');
    expect(named(calls, 'database_clone')[0].args).toEqual({ target: 'chat_main', source: 'chat_api' });
    expect(text('[data-testid="database-status"]')).toBe('Copied (0s). What it held before is in the snapshot: Restore brings it back.');
  });
});
