import { emit } from '@tauri-apps/api/event';
import { flushSync } from 'svelte';
import { describe, expect, it } from 'vitest';

import type { StoreTrouble } from './lib/bindings/StoreTrouble';
import { setLanguage } from './lib/i18n/index.svelte';
import { loadedView } from './test/fixtures';
import { button, render, serve, target, text, waitFor } from './test/harness';

const unwritable: StoreTrouble = {
  kind: 'unwritable',
  path: '/home/dev/.local/share/kovan/kovan.sqlite3',
  movedTo: null,
  reason: 'attempt to write a readonly database',
};

describe('the store banner', () => {
  it('says a store that cannot be written, in both languages, until dismissed', async () => {
    serve({ workspace_view: loadedView, store_notice: unwritable });
    render();
    const banner = await waitFor('[data-testid="store-banner"]');
    expect(banner.dataset.kind).toBe('unwritable');
    expect(text('h2', banner)).toBe('Kovan’ın geçmiş veritabanına yazılamıyor');
    expect(text('[data-testid="store-banner-message"]')).toContain(
      '/home/dev/.local/share/kovan/kovan.sqlite3: attempt to write a readonly database.',
    );
    setLanguage('en');
    await waitFor('[data-testid="store-banner"]');
    expect(text('[data-testid="store-banner"] h2')).toBe('Kovan’s history database cannot be written');
    expect(text('[data-testid="store-banner"]')).toContain('found from the process table');
    expect(text('[data-testid="store-banner"]')).toContain('chattr -i');
    button('store-banner-dismiss').click();
    flushSync();
    expect(target.querySelector('[data-testid="store-banner"]')).toBeNull();
    setLanguage('tr');
  });

  it('shows a store moved aside with where it went, and a failure that happens later', async () => {
    serve({ workspace_view: loadedView });
    render();
    await waitFor('[data-testid="instance-card"]');
    expect(target.querySelector('[data-testid="store-banner"]')).toBeNull();
    await emit('store://trouble', {
      kind: 'recovered',
      path: '/d/kovan.sqlite3',
      movedTo: '/d/kovan.sqlite3.damaged-20261203-081500',
      reason: 'file is not a database',
    } satisfies StoreTrouble);
    const banner = await waitFor('[data-testid="store-banner"]');
    expect(banner.dataset.kind).toBe('recovered');
    expect(text('[data-testid="store-banner-message"]')).toContain('/d/kovan.sqlite3.damaged-20261203-081500');
  });
});
