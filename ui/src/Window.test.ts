// The window as a desktop tool: opening a Django project from the first-run screen, the theme,
// keyboard shortcuts (and their tooltips), and the tray being told the language.
import { beforeEach, describe, expect, it } from 'vitest';

import type { Proposal } from './lib/bindings/Proposal';
import { setTheme, THEME_KEY } from './lib/theme.svelte';
import { loadedView, notFoundView } from './test/fixtures';
import { button, named, one, render, serve, target, text, until, waitFor } from './test/harness';

const proposal: Proposal = {
  file: '/home/dev/shop/kovan.toml',
  exists: false,
  text: '[project]\nname = "shop"\n',
  name: 'shop',
  reason:
    'proposed isolated instances: Django could not be asked whether the project uses Channels, and it has no nginx upstream over several servers',
  undetected: ['No virtualenv (.venv or venv) found: using python3 from PATH.'],
  detection: {
    folder: '/home/dev/shop',
    djangoRoot: '/home/dev/shop',
    settings: 'shop.settings',
    settingsSource: 'managePy',
    python: 'python3',
    virtualenv: false,
    django: { state: 'failed', stage: 'django', message: 'No module named django' },
    nginxUpstreams: [],
  },
};

function key(k: string, options: KeyboardEventInit = {}): void {
  window.dispatchEvent(new KeyboardEvent('keydown', { key: k, ctrlKey: true, bubbles: true, ...options }));
}

beforeEach(() => {
  setTheme('system');
});

describe('the first-run screen', () => {
  it('detects the typed folder, shows what it could not detect, then creates and opens kovan.toml', async () => {
    const calls = serve({
      workspace_view: notFoundView,
      propose_workspace: proposal,
      create_workspace: loadedView,
    });
    render();
    (await waitFor('[data-testid="first-run-open"]')).click();
    const field = (await waitFor('[data-testid="project-folder"]')) as HTMLInputElement;
    field.value = '/home/dev/shop';
    field.dispatchEvent(new Event('input', { bubbles: true }));
    await until(() => !button('project-detect').disabled, 'Inspect to be enabled');
    button('project-detect').click();
    await waitFor('[data-testid="project-proposal"]');
    expect(named(calls, 'propose_workspace').map((c) => c.args)).toEqual([{ folder: '/home/dev/shop' }]);
    expect(text('[data-testid="project-name"]')).toBe('shop');
    expect(text('[data-testid="project-undetected"]')).toContain('No virtualenv');
    expect(text('[data-testid="project-reason"]')).toBe(proposal.reason);
    expect(named(calls, 'create_workspace')).toEqual([]);

    button('project-create').click();
    await waitFor('[data-testid="instance-card"]');
    expect(named(calls, 'create_workspace').map((c) => c.args)).toEqual([{ folder: '/home/dev/shop' }]);
    expect(target.querySelector('[data-testid="open-project-dialog"]')).toBeNull();
  });

  it('offers to open a kovan.toml that is already there instead of writing one', async () => {
    const calls = serve({
      workspace_view: loadedView,
      propose_workspace: { ...proposal, exists: true },
      open_workspace: loadedView,
      recent_workspaces: ['/home/dev/blog/kovan.toml'],
    });
    render();
    (await waitFor('[data-testid="open-project"]')).click();
    expect((await waitFor('[data-testid="recent-workspace"]')).textContent?.trim()).toBe('/home/dev/blog/kovan.toml');
    const field = one('[data-testid="project-folder"]') as HTMLInputElement;
    field.value = '/home/dev/shop';
    field.dispatchEvent(new Event('input', { bubbles: true }));
    await until(() => !button('project-detect').disabled, 'Inspect to be enabled');
    button('project-detect').click();
    (await waitFor('[data-testid="project-open-existing"]')).click();
    await until(() => named(calls, 'open_workspace').length === 1, 'open_workspace');
    expect(named(calls, 'open_workspace')[0].args).toEqual({ path: '/home/dev/shop/kovan.toml' });
    expect(named(calls, 'create_workspace')).toEqual([]);
  });
});

describe('theme', () => {
  it('follows the system until chosen, then cycles light, dark, system and remembers the choice', async () => {
    serve({ workspace_view: loadedView });
    render();
    const toggle = await waitFor('[data-testid="theme-toggle"]');
    expect(toggle.dataset.themeChoice).toBe('system');
    toggle.click();
    await until(() => document.documentElement.dataset.theme === 'light', 'light');
    expect(localStorage.getItem(THEME_KEY)).toBe('light');
    toggle.click();
    await until(() => document.documentElement.dataset.theme === 'dark', 'dark');
    expect(toggle.getAttribute('aria-label')).toBe('Tema: koyu (değiştir)');
    toggle.click();
    await until(() => toggle.dataset.themeChoice === 'system', 'system again');
  });
});

describe('keyboard shortcuts', () => {
  it('start presets, open the generator and Tüm Cache’i Temizle, switch the language, and say so in tooltips', async () => {
    const calls = serve({
      workspace_view: loadedView,
      start_preset: [],
      generator_plan: { djangoRoot: '/p', files: [] },
      flush_preview_part: () => new Promise(() => {}),
    });
    render();
    await waitFor('[data-testid="instance-card"]');
    expect(button('open-generator').title).toMatch(/\(Ctrl\+G\)$/);
    expect(button('stop-all').title).toBe('Çalışan bir şey yok.');
    expect(one('[data-testid="preset-start"][data-preset="dev"]').title).toMatch(/\(Ctrl\+1\)$/);

    key('1');
    await until(() => named(calls, 'start_preset').length === 1, 'the first preset');
    expect(named(calls, 'start_preset')[0].args).toEqual({ preset: 'dev' });

    key('g');
    await waitFor('[data-testid="generator"]');
    // A dialog keeps the keyboard: Ctrl+K+Shift does nothing while the generator is open.
    key('K', { shiftKey: true });
    expect(target.querySelector('[data-testid="flush-dialog"]')).toBeNull();
    button('generator-close-x').click();
    await until(() => target.querySelector('[data-testid="generator"]') === null, 'the generator to close');

    key('K', { shiftKey: true });
    await waitFor('[data-testid="flush-dialog"]');
    expect(named(calls, 'flush_preview_part')[0].args).toEqual({ scope: 'all', part: 'cache' });
  });

  it('Ctrl+D opens the doctor, which checks again', async () => {
    const calls = serve({ workspace_view: loadedView, doctor_findings: [] });
    render();
    await waitFor('[data-testid="instance-card"]');
    const before = named(calls, 'doctor_findings').length;
    key('d');
    await waitFor('[data-testid="doctor"]');
    await until(() => named(calls, 'doctor_findings').length > before, 'the doctor to check');
    expect(button('open-doctor').title).toMatch(/\(Ctrl\+D\)$/);
  });

  it('Ctrl+L switches the language and tells the tray', async () => {
    const calls = serve({ workspace_view: loadedView, set_language: null });
    render();
    await waitFor('[data-testid="instance-card"]');
    await until(() => named(calls, 'set_language').length >= 1, 'the first set_language');
    key('l');
    await until(() => document.documentElement.lang === 'en', 'English');
    await until(() => named(calls, 'set_language').some((c) => c.args.language === 'en'), 'the tray told');
    expect(named(calls, 'set_language')[0].args).toEqual({ language: 'tr' });
  });
});
