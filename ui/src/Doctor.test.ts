// The isolation doctor through the whole window: the header's button and badge, the findings by
// severity, the one-click fixes (SECRET_KEY only after an inline confirmation), failures, the empty state.
import { describe, expect, it } from 'vitest';

import type { Finding } from './lib/bindings/Finding';
import { setLanguage } from './lib/i18n/index.svelte';
import { loadedView } from './test/fixtures';
import { all, button, named, one, render, serve, target, text, until, waitFor } from './test/harness';

// Shaped like crates/kovan-core/src/doctor/mod.rs sends them, deliberately not in severity order.
const sharedRedis: Finding = {
  kind: 'redis-shared-database',
  severity: 'info',
  instances: ['chat_main', 'chat_api'],
  message: 'chat_main, chat_api share one Redis database (redis://127.0.0.1:6379/0), kept apart by their key prefixes',
  why: "Django's cache.clear() is FLUSHDB, in the built-in RedisCache and in django-redis alike.",
  fix: 'Clear caches with Kovan (Cache Temizle, kovan flush) or manage.py clear_cache, which delete by prefix.',
  fixAction: null,
  mismatch: null,
};
const readableEnv: Finding = {
  kind: 'env-file-readable',
  severity: 'warning',
  instances: ['chat_api'],
  message: '.env.chat_api has mode 0644: other users can read it',
  why: 'It holds the SECRET_KEY and the Redis password.',
  fix: 'chmod 600 .env.chat_api',
  fixAction: { type: 'restrictEnvFile', instance: 'chat_api', path: '.env.chat_api' },
  mismatch: null,
};
const sharedSecret: Finding = {
  kind: 'shared-secret-key',
  severity: 'error',
  instances: ['chat_main', 'chat_api'],
  message: 'chat_main and chat_api have the same SECRET_KEY',
  why: 'A session signed by one instance is valid on the other.',
  fix: 'Give chat_api a new SECRET_KEY (its users are logged out), then restart it.',
  fixAction: { type: 'newSecretKey', instance: 'chat_api' },
  mismatch: null,
};
const stale: Finding = {
  kind: 'generated-stale',
  severity: 'warning',
  instances: [],
  message: '2 generated file(s) are missing or older than kovan.toml: nginx/kovan.conf, Procfile.kovan',
  why: 'The instances run with settings that no longer match kovan.toml.',
  fix: 'Regenerate them (Kovan: Yapılandırma üret; kovan generate --write).',
  fixAction: { type: 'regenerate', paths: ['nginx/kovan.conf', 'Procfile.kovan'] },
  mismatch: null,
};
const restart: Finding = {
  kind: 'restart-needed',
  severity: 'warning',
  instances: ['chat_main'],
  message: 'chat_main was started before .env.chat_main changed',
  why: 'It still runs with the old values.',
  fix: 'Restart chat_main so that it reads them.',
  fixAction: { type: 'restart', instance: 'chat_main' },
  mismatch: null,
};
const channelPrefix: Finding = {
  kind: 'channel-prefix-mismatch',
  severity: 'error',
  instances: ['chat_websocket'],
  message: 'chat_websocket uses the channel-layer prefix other, not its site’s',
  why: 'Because.',
  fix: 'Do the other thing.',
  fixAction: null,
  mismatch: null,
};

const findings = [sharedRedis, readableEnv, sharedSecret, stale, restart];

async function openDoctor(): Promise<HTMLButtonElement> {
  render();
  const opener = (await waitFor('[data-testid="open-doctor"]')) as HTMLButtonElement;
  opener.click();
  await waitFor('[data-testid="doctor"][data-state="ready"]');
  return opener;
}

function finding(kind: string): HTMLElement {
  return one(`[data-testid="finding"][data-kind="${kind}"]`);
}

describe('the header button', () => {
  it('shows how many errors and warnings the doctor found, without opening', async () => {
    serve({ workspace_view: loadedView, doctor_findings: findings });
    render();
    const badge = await waitFor('[data-testid="doctor-badge"]');
    // One error and three warnings; the Redis note does not count.
    expect(badge.dataset.count).toBe('4');
    expect(badge.textContent).toContain('4 hata ya da uyarı');
    expect(badge.classList.contains('badge-error')).toBe(true);
    expect(text('[data-testid="open-doctor"] > span')).toBe('Doktor');
    expect(target.querySelector('[data-testid="doctor"]')).toBeNull();
  });

  it('has no badge when nothing is wrong', async () => {
    serve({ workspace_view: loadedView, doctor_findings: [sharedRedis] });
    render();
    await waitFor('[data-testid="open-doctor"]');
    await new Promise((r) => setTimeout(r, 20));
    expect(target.querySelector('[data-testid="doctor-badge"]')).toBeNull();
  });
});

describe('the doctor dialog', () => {
  it('lists the findings errors first, each with its severity, instances, why and fix', async () => {
    const calls = serve({ workspace_view: loadedView, doctor_findings: findings });
    const opener = await openDoctor();
    expect(one('[data-testid="doctor"]').getAttribute('aria-labelledby')).toBe('doctor-title');
    expect(text('#doctor-title')).toBe('Doktor: yalıtım denetimi');
    // Checked when rendered (the badge) and again on open.
    expect(named(calls, 'doctor_findings').length).toBe(2);

    const items = all('[data-testid="finding"]');
    expect(items.map((i) => i.dataset.severity)).toEqual(['error', 'warning', 'warning', 'warning', 'info']);
    expect(items.map((i) => i.dataset.kind)).toEqual([
      'shared-secret-key',
      'env-file-readable',
      'generated-stale',
      'restart-needed',
      'redis-shared-database',
    ]);
    expect(text('[data-testid="doctor-summary"]')).toBe('1 hata, 3 uyarı, 1 bilgi');
    expect(all('.group-title').map((h) => h.textContent?.replace(/\s+/g, ' ').trim())).toEqual([
      'Hatalar (1)',
      'Uyarılar (3)',
      'Bilgi notları (1)',
    ]);

    const secret = finding('shared-secret-key');
    expect(text('[data-testid="finding-severity"]', secret)).toBe('Hata');
    expect(text('[data-testid="finding-title"]', secret)).toBe('SECRET_KEY ortak');
    expect(text('[data-testid="finding-message"]', secret)).toBe('chat_main and chat_api have the same SECRET_KEY');
    expect(all('[data-testid="finding-instance"]', secret).map((e) => e.textContent)).toEqual(['chat_main', 'chat_api']);
    expect(secret.textContent).toContain('Neden önemli');
    expect(text('[data-testid="finding-why"]', secret)).toBe('A session signed by one instance is valid on the other.');
    expect(secret.textContent).toContain('Nasıl düzeltilir');
    expect(text('[data-testid="finding-how"]', secret)).toBe(
      'Give chat_api a new SECRET_KEY (its users are logged out), then restart it.',
    );
    expect(text('[data-testid="finding-severity"]', finding('env-file-readable'))).toBe('Uyarı');
    expect(text('[data-testid="finding-severity"]', finding('redis-shared-database'))).toBe('Bilgi');

    // Each fix says what it does.
    expect(text('[data-testid="finding-fix"]', secret)).toBe('Yeni SECRET_KEY üret');
    expect(secret.textContent).toContain('oturumu kapanır');
    expect(text('[data-testid="finding-fix"]', finding('env-file-readable'))).toBe('İzinleri 0600 yap');
    expect(text('[data-testid="finding-fix"]', finding('generated-stale'))).toBe('Dosyaları yeniden üret');
    expect(text('[data-testid="finding-fix"]', finding('restart-needed'))).toBe('Yeniden başlat');
    expect(finding('redis-shared-database').querySelector('[data-testid="finding-fix"]')).toBeNull();

    // Focus on the first thing to act on; Escape closes and focus goes back to the opener.
    await until(() => document.activeElement === button('finding-fix', secret), 'focus on the first fix');
    one('[data-testid="doctor"]').dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', bubbles: true }));
    await until(() => target.querySelector('[data-testid="doctor"]') === null, 'the dialog to close');
    expect(document.activeElement).toBe(opener);
  });

  // The titles are a Record<FindingKind, …>: a kind core adds cannot go untitled (the channel-layer ones once did).
  it('titles a channel-layer finding and keeps core’s message under it', async () => {
    serve({ workspace_view: loadedView, doctor_findings: [channelPrefix] });
    await openDoctor();
    const item = finding('channel-prefix-mismatch');
    expect(text('[data-testid="finding-title"]', item)).toBe('Channel layer öneki sitenin değil');
    expect(text('[data-testid="finding-message"]', item)).toBe('chat_websocket uses the channel-layer prefix other, not its site’s');
  });

  it('runs a fix with exactly the finding’s action, shows what core did and checks again', async () => {
    let current = findings;
    const calls = serve({
      workspace_view: loadedView,
      doctor_findings: () => current,
      apply_fix: () => {
        current = findings.filter((f) => f !== readableEnv);
        return '.env.chat_api is now mode 0600.';
      },
    });
    await openDoctor();
    const before = named(calls, 'doctor_findings').length;
    button('finding-fix', finding('env-file-readable')).click();
    await waitFor('[data-testid="fix-result"]');
    expect(named(calls, 'apply_fix').map((c) => c.args)).toEqual([
      { action: { type: 'restrictEnvFile', instance: 'chat_api', path: '.env.chat_api' } },
    ]);
    expect(text('[data-testid="fix-result"]')).toBe(
      'Düzeltme uygulandı: Env dosyasını başka kullanıcılar okuyabiliyor .env.chat_api is now mode 0600.',
    );
    await until(() => target.querySelector('[data-testid="finding"][data-kind="env-file-readable"]') === null, 'the finding to go');
    expect(named(calls, 'doctor_findings').length).toBe(before + 1);
    expect(one('[data-testid="doctor-badge"]').dataset.count).toBe('3');
  });

  it('passes regenerate and restart actions through unchanged', async () => {
    const calls = serve({ workspace_view: loadedView, doctor_findings: findings, apply_fix: 'done.' });
    await openDoctor();
    button('finding-fix', finding('generated-stale')).click();
    await waitFor('[data-testid="fix-result"]');
    await until(() => !button('finding-fix', finding('restart-needed')).disabled, 'the fix to end');
    button('finding-fix', finding('restart-needed')).click();
    await until(() => named(calls, 'apply_fix').length === 2, 'the second fix');
    expect(named(calls, 'apply_fix').map((c) => c.args)).toEqual([
      { action: { type: 'regenerate', paths: ['nginx/kovan.conf', 'Procfile.kovan'] } },
      { action: { type: 'restart', instance: 'chat_main' } },
    ]);
  });

  it('asks before a new SECRET_KEY, and does nothing when the user cancels', async () => {
    const calls = serve({ workspace_view: loadedView, doctor_findings: findings, apply_fix: 'New SECRET_KEY for chat_api.' });
    await openDoctor();
    button('finding-fix', finding('shared-secret-key')).click();
    const confirmation = await waitFor('[data-testid="finding-fix-confirmation"]');
    expect(named(calls, 'apply_fix')).toEqual([]);
    expect(confirmation.textContent).toContain('chat_api instance’ının SECRET_KEY’i değişecek');
    expect(confirmation.textContent).toContain('tüm kullanıcıların oturumu kapanır');
    expect(text('[data-testid="finding-fix-confirm"]')).toBe('Oturumları kapat, yeni SECRET_KEY üret');
    // The safe choice has the focus.
    await until(() => document.activeElement === button('finding-fix-cancel'), 'focus on Cancel');

    button('finding-fix-cancel').click();
    await until(() => target.querySelector('[data-testid="finding-fix-confirmation"]') === null, 'the question to go');
    expect(named(calls, 'apply_fix')).toEqual([]);

    button('finding-fix', finding('shared-secret-key')).click();
    await waitFor('[data-testid="finding-fix-confirmation"]');
    button('finding-fix-confirm').click();
    await waitFor('[data-testid="fix-result"]');
    expect(named(calls, 'apply_fix').map((c) => c.args)).toEqual([{ action: { type: 'newSecretKey', instance: 'chat_api' } }]);
    expect(text('[data-testid="fix-result"]')).toContain('New SECRET_KEY for chat_api.');
  });

  it('shows a failed fix with its message and kind', async () => {
    serve({
      workspace_view: loadedView,
      doctor_findings: findings,
      apply_fix: () => {
        throw {
          kind: 'fix_io',
          message: '.env.chat_api: Operation not permitted (os error 1)',
          detail: { type: 'path', path: '.env.chat_api' },
        };
      },
    });
    await openDoctor();
    button('finding-fix', finding('env-file-readable')).click();
    const failure = await waitFor('[data-testid="fix-error"]');
    expect(failure.dataset.kind).toBe('fix_io');
    expect(failure.getAttribute('role')).toBe('alert');
    expect(text('[data-testid="fix-error"] .copyable')).toBe('.env.chat_api değiştirilemedi.');
    expect(one('[data-testid="fix-error"] .copyable').title).toBe('.env.chat_api: Operation not permitted (os error 1)');
    expect(failure.textContent).toContain('Düzeltme uygulanamadı');
    expect(failure.textContent).toContain('Hata türü: fix_io');
    // The finding is still there to try again.
    expect(finding('env-file-readable')).toBeTruthy();
  });

  it('says when the check itself failed', async () => {
    serve({
      workspace_view: loadedView,
      doctor_findings: () => {
        throw { kind: 'store_unavailable', message: 'history database is locked' };
      },
    });
    render();
    (await waitFor('[data-testid="open-doctor"]')).click();
    const failure = await waitFor('[data-testid="doctor-error"]');
    expect(failure.dataset.kind).toBe('store_unavailable');
    expect(failure.textContent).toContain('Denetim yapılamadı');
    expect(failure.textContent).toContain('Kovan’ın geçmişi kapalı');
    expect(one('[data-testid="doctor-error"] .copyable').title).toBe('history database is locked');
  });

  it('says nothing was found, and what was checked; Check again asks again', async () => {
    const calls = serve({ workspace_view: loadedView, doctor_findings: [] });
    await openDoctor();
    const empty = one('[data-testid="doctor-empty"]');
    expect(empty.textContent).toContain('Sorun bulunmadı');
    expect(empty.textContent).toContain('oturum ve CSRF çerezleri');
    expect(all('[data-testid="finding"]')).toEqual([]);
    // With nothing to fix, "Check again" has the focus.
    await until(() => document.activeElement === button('doctor-recheck'), 'focus on Check again');
    expect(text('[data-testid="doctor-recheck"]')).toBe('Yeniden denetle');
    const before = named(calls, 'doctor_findings').length;
    button('doctor-recheck').click();
    await until(() => named(calls, 'doctor_findings').length === before + 1, 'the second check');
  });

  it('speaks English when the window does', async () => {
    setLanguage('en');
    serve({ workspace_view: loadedView, doctor_findings: findings });
    await openDoctor();
    expect(text('[data-testid="open-doctor"] > span')).toBe('Doctor');
    expect(text('#doctor-title')).toBe('Doctor: isolation check');
    const secret = finding('shared-secret-key');
    expect(text('[data-testid="finding-severity"]', secret)).toBe('Error');
    expect(text('[data-testid="finding-title"]', secret)).toBe('Shared SECRET_KEY');
    expect(secret.textContent).toContain('Why it matters');
    expect(secret.textContent).toContain('How to fix');
    expect(text('[data-testid="finding-fix"]', secret)).toBe('Generate a new SECRET_KEY');
    expect(text('[data-testid="finding-fix"]', finding('env-file-readable'))).toBe('Set permissions to 0600');
    expect(text('[data-testid="finding-fix"]', finding('generated-stale'))).toBe('Regenerate the files');
    expect(text('[data-testid="finding-fix"]', finding('restart-needed'))).toBe('Restart');
    expect(text('[data-testid="doctor-recheck"]')).toBe('Check again');
  });
});
