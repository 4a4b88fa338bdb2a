import { mockIPC } from '@tauri-apps/api/mocks';
import { flushSync } from 'svelte';
import { describe, expect, it } from 'vitest';

import type { WorkspaceView } from './lib/bindings/WorkspaceView';
import { setLanguage } from './lib/i18n/index.svelte';
import { background, invalidView, loadedView, notFoundView } from './test/fixtures';
import { one, render, serve, target, text, waitFor } from './test/harness';

describe('App with a loaded workspace', () => {
  it('shows a loading state first, then one card per instance', async () => {
    let release!: (view: WorkspaceView) => void;
    mockIPC((cmd) =>
      cmd === 'workspace_view' ? new Promise<WorkspaceView>((resolve) => (release = resolve)) : background[cmd],
    );
    render();
    expect(target.querySelector('[data-testid="loading"]')).not.toBeNull();
    expect(target.querySelector('[data-testid="instance-card"]')).toBeNull();

    release(loadedView);
    await waitFor('[data-testid="instance-card"]');
    expect(target.querySelector('[data-testid="loading"]')).toBeNull();

    const cards = [...target.querySelectorAll<HTMLElement>('[data-testid="instance-card"]')];
    expect(cards.map((c) => c.dataset.instance)).toEqual(['chat_main', 'chat_api', 'chat_websocket']);
    expect(cards.every((c) => c.tagName === 'ARTICLE')).toBe(true);

    const expected = [
      ['chat_main', '8000'],
      ['chat_api', '8001'],
      ['chat_websocket', '8002'],
    ];
    for (const [name, port] of expected) {
      const card = one(`[data-testid="instance-card"][data-instance="${name}"]`);
      expect(one('[data-testid="port"]', card).dataset.port).toBe(port);
      expect(text('[data-testid="port"]', card)).toBe(`:${port}`);
      expect(text('[data-testid="session-cookie"]', card)).toBe(`sessionid_${name}`);
      expect(text('[data-testid="csrf-cookie"]', card)).toBe(`csrftoken_${name}`);
      expect(text('[data-testid="status"]', card)).toBe('Durdu');
      expect(text('[data-testid="cache-prefix"]', card)).toBe(`context7_${name}`);
      expect(text('[data-testid="database"]', card)).toBe(`db_${name}.sqlite3`);
      // The card is labelled by its name.
      const title = document.getElementById(card.getAttribute('aria-labelledby') ?? '');
      expect(title?.textContent).toBe(name);
    }
  });

  it('shows the header, the Redis URL as received, roles and preset buttons', async () => {
    serve({ workspace_view: loadedView });
    render();
    await waitFor('[data-testid="instance-card"]');

    expect(text('[data-testid="workspace-name"]')).toBe('context7');
    const path = one('[data-testid="workspace-path"]');
    expect(path.textContent).toBe('/home/dev/projects/context7/kovan.toml');
    expect(path.title).toBe('/home/dev/projects/context7/kovan.toml');
    expect(text('[data-testid="redis-url"]')).toBe('redis://:***@127.0.0.1:6379/0');

    const main = one('[data-instance="chat_main"]');
    expect(text('[data-testid="role"]', main)).toContain('Ana sunucu');
    expect(text('[data-testid="cache"]', main)).toContain('3600 sn');
    expect(text('[data-testid="cache-class"]', main)).toBe('django.core.cache.backends.redis.RedisCache');

    const presets = [...target.querySelectorAll<HTMLElement>('[data-testid="preset-start"]')].map((b) => [
      b.dataset.preset,
      b.textContent?.replace(/\s+/g, ' ').trim(),
    ]);
    expect(presets).toEqual([
      ['dev', 'Dev çiftini başlat chat_main, chat_api'],
      ['chat', 'Chat üçlüsünü başlat chat_main, chat_api, chat_websocket'],
    ]);
  });

  it('switches language with the toggle and follows it in <html lang>', async () => {
    serve({ workspace_view: loadedView });
    render();
    await waitFor('[data-testid="instance-card"]');

    const toggle = one('[data-testid="lang-toggle"]') as HTMLButtonElement;
    expect(toggle.textContent?.trim()).toBe('EN');
    expect(toggle.getAttribute('aria-label')).toBe('İngilizceye geç');
    expect(document.documentElement.lang).toBe('tr');
    expect(text('[data-testid="status"]')).toBe('Durdu');
    expect(text('[data-testid="reload"]')).toBe('Yeniden yükle');

    toggle.click();
    flushSync();

    expect(text('[data-testid="status"]')).toBe('Stopped');
    expect(text('[data-testid="reload"]')).toBe('Reload');
    expect(toggle.textContent?.trim()).toBe('TR');
    expect(toggle.getAttribute('aria-label')).toBe('Switch to Turkish');
    expect(document.documentElement.lang).toBe('en');
    expect(localStorage.getItem('kovan.language')).toBe('en');

    toggle.click();
    flushSync();
    expect(text('[data-testid="status"]')).toBe('Durdu');
  });

  it('reloads through reload_workspace and shows the new view', async () => {
    const calls = serve({ workspace_view: loadedView, reload_workspace: invalidView });
    render();
    await waitFor('[data-testid="instance-card"]');

    one('[data-testid="reload"]').click();
    await waitFor('[data-testid="workspace-error"]');
    expect(calls.map((c) => c.cmd)).toEqual(['workspace_view', 'reload_workspace']);
    expect(target.querySelector('[data-testid="instance-card"]')).toBeNull();
  });
});

describe('App with a broken workspace', () => {
  it('renders the error panel with the path and every problem', async () => {
    const calls = serve({ workspace_view: invalidView, reload_workspace: loadedView });
    render();
    const panel = await waitFor('[data-testid="workspace-error"]');

    expect(target.querySelector('[data-testid="instance-card"]')).toBeNull();
    expect(panel.querySelector('h2')?.textContent).toBe('kovan.toml geçersiz');
    expect(text('[data-testid="error-file"]', panel)).toBe('/home/dev/projects/context7/kovan.toml');
    expect(text('[data-testid="workspace-path"]')).toBe('/home/dev/projects/context7/kovan.toml');

    const problems = [...panel.querySelectorAll<HTMLElement>('[data-testid="problem"]')];
    expect(problems).toHaveLength(2);
    expect(text('[data-testid="problem-field"]', problems[0])).toBe('instance[1].port');
    expect(text('[data-testid="problem-line"]', problems[0])).toBe('Satır 27');
    expect(text('[data-testid="problem-message"]', problems[0])).toBe('Port 8000 is already used by chat_main.');
    expect(text('[data-testid="problem-fix"]', problems[0])).toContain('Give every instance its own port');
    expect(text('[data-testid="problem-field"]', problems[1])).toBe('redis');
    expect(problems[1].querySelector('[data-testid="problem-line"]')).toBeNull();

    // The user fixes the file and retries from the panel itself.
    one('[data-testid="error-reload"]', panel).click();
    await waitFor('[data-testid="instance-card"]');
    expect(calls.map((c) => c.cmd)).toEqual(['workspace_view', 'reload_workspace']);
    expect(target.querySelector('[data-testid="workspace-error"]')).toBeNull();
  });

  it('titles a missing file as not found and shows core’s message', async () => {
    serve({ workspace_view: notFoundView });
    render();
    const panel = await waitFor('[data-testid="workspace-error"]');
    expect(panel.querySelector('h2')?.textContent).toBe('kovan.toml bulunamadı');
    expect(text('[data-testid="error-message"]', panel)).toContain('no kovan.toml here');
    expect(panel.querySelectorAll('[data-testid="problem"]')).toHaveLength(0);
    expect(panel.textContent).toContain('kovan.toml dosyasını oluşturun');

    setLanguage('en');
    flushSync();
    expect(panel.querySelector('h2')?.textContent).toBe('kovan.toml not found');
  });

  it('shows a failed invoke as an error panel, never a blank window', async () => {
    serve({
      workspace_view: () => {
        throw { kind: 'internal', message: 'The workspace is still being opened.' };
      },
    });
    render();
    const panel = await waitFor('[data-testid="workspace-error"]');
    expect(panel.querySelector('h2')?.textContent).toBe('Çalışma alanı yüklenemedi');
    expect(text('[data-testid="error-message"]', panel)).toBe('Kovan’ın içinde bir şey ters gitti: bir hata, lütfen bildirin.');
    expect(panel.textContent).toContain('internal');
    expect(target.querySelector('[data-testid="reload"]')).not.toBeNull();
  });

  it('explains itself when opened outside Tauri', async () => {
    render();
    const panel = await waitFor('[data-testid="workspace-error"]');
    expect(text('[data-testid="error-message"]', panel)).toContain('Kovan uygulamasının penceresi dışında');
  });
});
