// The config generator dialog, driven through the whole window the way a user (and the end-to-end
// test) drives it: header button -> file rows -> write -> result.
import { flushSync } from 'svelte';
import { describe, expect, it } from 'vitest';

import type { Plan } from './lib/bindings/Plan';
import { setLanguage } from './lib/i18n/index.svelte';
import {
  exportReport,
  generatorPlanAfterWrite,
  generatorPlanFixture,
  generatorWriteReport,
  loadedView,
} from './test/fixtures';
import { all, type Call, type Handler, one, render, serve, target, text, until, waitFor } from './test/harness';

function row(path: string): HTMLElement {
  return one(`[data-testid="generator-file"][data-path="${path}"]`);
}

function checkbox(path: string): HTMLInputElement {
  return one('[data-testid="generator-select"]', row(path)) as HTMLInputElement;
}

/** generator_plan answers each plan in turn, repeating the last. */
function plans(...list: Plan[]): Handler {
  let index = 0;
  return () => list[Math.min(index++, list.length - 1)];
}

async function openGenerator(): Promise<HTMLElement> {
  render();
  const button = await waitFor('[data-testid="open-generator"]');
  button.click();
  flushSync();
  const dialog = one('[data-testid="generator"]');
  await waitFor('[data-testid="generator-file"]');
  return dialog;
}

const NAMES = (calls: Call[]) => calls.map((c) => c.cmd);

describe('opening the config generator', () => {
  it('has a header button next to Reload only once a workspace is loaded', async () => {
    serve({ workspace_view: loadedView });
    render();
    const button = await waitFor('[data-testid="open-generator"]');
    expect(button.textContent?.trim()).toBe('Config Üreteci');
    expect(button.nextElementSibling?.getAttribute('data-testid')).toBe('reload');
    expect(button.getAttribute('aria-haspopup')).toBe('dialog');
    expect(target.querySelector('[data-testid="generator"]')).toBeNull();
  });

  it('shows a loading state, then lists every planned file grouped by purpose', async () => {
    let release!: (plan: Plan) => void;
    serve({
      workspace_view: loadedView,
      generator_plan: () => new Promise<Plan>((resolve) => (release = resolve)),
    });
    render();
    (await waitFor('[data-testid="open-generator"]')).click();
    flushSync();

    const dialog = one('[data-testid="generator"]');
    expect(dialog.tagName).toBe('DIALOG');
    expect(dialog.hasAttribute('open')).toBe(true);
    expect(document.getElementById(dialog.getAttribute('aria-labelledby') ?? '')?.textContent).toBe(
      'Config Üreteci',
    );
    expect(one('[data-testid="generator-loading"]', dialog).textContent).toContain('karşılaştırılıyor');
    // Focus moves into the dialog.
    expect(dialog.contains(document.activeElement)).toBe(true);

    release(generatorPlanFixture);
    await waitFor('[data-testid="generator-file"]');
    expect(target.querySelector('[data-testid="generator-loading"]')).toBeNull();

    const rows = all('[data-testid="generator-file"]', dialog);
    expect(rows.map((r) => r.dataset.path)).toEqual(generatorPlanFixture.files.map((f) => f.path));
    expect(rows.map((r) => r.dataset.status)).toEqual(generatorPlanFixture.files.map((f) => f.status));

    const groups = all('[data-testid="generator-group"]', dialog);
    expect(groups.map((g) => g.dataset.purpose)).toEqual(['envFile', 'settings', 'djangoApp', 'nginx', 'procfile']);
    expect(groups.map((g) => g.querySelector('h4')?.firstChild?.textContent?.trim())).toEqual([
      'Ortam dosyaları',
      'Django ayarları',
      'Kovan Django uygulaması',
      'nginx',
      'Procfile',
    ]);
    expect(all('[data-testid="generator-file"]', groups[2])).toHaveLength(8);

    expect(text('[data-testid="generator-root"]', dialog)).toBe('/home/dev/projects/context7');
    expect(text('[data-testid="generator-summary"]', dialog)).toBe(
      '3 yeni, 1 değişti, 1 elle düzenlenmiş, 9 değişmedi, 1 dosyanın izni farklı',
    );
  });

  it('shows modes in octal, warns about a different mode on disk, and marks env files as secret', async () => {
    serve({ workspace_view: loadedView, generator_plan: generatorPlanFixture });
    await openGenerator();

    expect(text('[data-testid="generator-mode"]', row('.env.chat_main'))).toBe('İzin: 0600');
    expect(text('[data-testid="generator-mode"]', row('nginx/kovan.conf'))).toBe('İzin: 0644');

    const disk = one('[data-testid="generator-disk-mode"]', row('.env.chat_api'));
    expect(disk.textContent?.trim()).toBe('diskte 0644');
    expect(disk.title).toContain('0600');
    expect(text('[data-testid="generator-disk-mode"]', row('dashboard_project/multi_server_settings.py'))).toBe(
      'diskte 0664',
    );
    expect(row('.env.chat_main').querySelector('[data-testid="generator-disk-mode"]')).toBeNull();

    for (const path of ['.env.chat_main', '.env.chat_api', '.env.chat_websocket']) {
      const lock = one('[data-testid="secret-lock"]', row(path));
      expect(lock.getAttribute('aria-label')).toContain('SECRET_KEY');
      expect(lock.title).toContain('KOVAN_TOKEN');
    }
    expect(row('nginx/kovan.conf').querySelector('[data-testid="secret-lock"]')).toBeNull();
  });

  it('labels statuses, and an edited file as a warning that it will be backed up', async () => {
    serve({ workspace_view: loadedView, generator_plan: generatorPlanFixture });
    await openGenerator();

    expect(text('[data-testid="generator-status"]', row('.env.chat_main'))).toBe('Yeni');
    expect(text('[data-testid="generator-status"]', row('kovan_django/apps.py'))).toBe('Değişmedi');
    expect(text('[data-testid="generator-status"]', row('nginx/kovan.conf'))).toBe('Değişti');
    const edited = one('[data-testid="generator-status"]', row('.env.chat_api'));
    expect(edited.textContent?.trim()).toBe('Elle düzenlenmiş — yedeklenecek');
    expect(edited.classList.contains('badge-edited')).toBe(true);
    expect(edited.querySelector('svg')).not.toBeNull();
    expect(row('.env.chat_api').classList.contains('edited')).toBe(true);

    setLanguage('en');
    flushSync();
    expect(text('[data-testid="generator-status"]', row('.env.chat_api'))).toBe('Edited by you — will be backed up');
    expect(text('[data-testid="generator-status"]', row('kovan_django/apps.py'))).toBe('Unchanged');
    expect(text('[data-testid="generator-disk-mode"]', row('.env.chat_api'))).toBe('on disk 0644');
    expect(text('[data-testid="generator-summary"]')).toBe(
      '3 new, 1 changed, 1 edited, 9 unchanged, 1 with a different mode',
    );
    expect(text('[data-testid="generator-write"]')).toBe('Write selected (6)');
  });
});

describe('selection and writing', () => {
  it('selects every file writing would change, and leaves unchanged ones unchecked', async () => {
    serve({ workspace_view: loadedView, generator_plan: generatorPlanFixture });
    await openGenerator();

    const checked = all('[data-testid="generator-file"]')
      .filter((r) => (one('[data-testid="generator-select"]', r) as HTMLInputElement).checked)
      .map((r) => r.dataset.path);
    expect(checked).toEqual([
      '.env.chat_main',
      '.env.chat_api',
      '.env.chat_websocket',
      // Unchanged, but its mode on disk differs: writing fixes the mode.
      'dashboard_project/multi_server_settings.py',
      'nginx/kovan.conf',
      'Procfile.kovan',
    ]);
    expect(checkbox('kovan_django/views.py').checked).toBe(false);
    expect(checkbox('.env.chat_api').getAttribute('aria-label')).toBe('.env.chat_api yazılsın');

    const write = one('[data-testid="generator-write"]') as HTMLButtonElement;
    expect(write.textContent?.trim()).toBe('Seçilenleri yaz (6)');
    expect(write.disabled).toBe(false);
    expect(text('[data-testid="backup-warning"]')).toBe(
      'Elle düzenlenmiş 1 dosyanın önce yedeği alınacak, sonra üzerine yazılacak.',
    );

    // Unticking the edited file removes the backup warning; ticking an unchanged one counts it.
    checkbox('.env.chat_api').click();
    flushSync();
    expect(write.textContent?.trim()).toBe('Seçilenleri yaz (5)');
    expect(target.querySelector('[data-testid="backup-warning"]')).toBeNull();
    checkbox('kovan_django/views.py').click();
    flushSync();
    expect(write.textContent?.trim()).toBe('Seçilenleri yaz (6)');
  });

  it('disables writing when nothing is selected', async () => {
    serve({ workspace_view: loadedView, generator_plan: generatorPlanFixture });
    await openGenerator();
    for (const box of all('[data-testid="generator-select"]') as HTMLInputElement[]) {
      if (box.checked) box.click();
    }
    flushSync();
    const write = one('[data-testid="generator-write"]') as HTMLButtonElement;
    expect(write.disabled).toBe(true);
    expect(write.textContent?.trim()).toBe('Seçilenleri yaz (0)');
  });

  it('writes exactly the selected paths, shows the result with the backup, then reloads the plan', async () => {
    let release!: () => void;
    const calls = serve({
      workspace_view: loadedView,
      generator_plan: plans(generatorPlanFixture, generatorPlanAfterWrite),
      generator_write: () => new Promise((resolve) => (release = () => resolve(generatorWriteReport))),
    });
    const dialog = await openGenerator();

    // One unchanged file added by hand, one pending file left out.
    checkbox('Procfile.kovan').click();
    checkbox('kovan_django/urls.py').click();
    flushSync();

    const write = one('[data-testid="generator-write"]') as HTMLButtonElement;
    write.click();
    flushSync();
    await until(() => calls.some((c) => c.cmd === 'generator_write'), 'generator_write');
    expect(write.disabled).toBe(true);
    expect(write.getAttribute('aria-busy')).toBe('true');
    expect(write.textContent?.trim()).toBe('Yazılıyor…');
    expect((one('[data-testid="generator-select"]') as HTMLInputElement).disabled).toBe(true);

    const writeCall = calls.find((c) => c.cmd === 'generator_write');
    expect(writeCall?.args).toEqual({
      paths: [
        '.env.chat_main',
        '.env.chat_api',
        '.env.chat_websocket',
        'dashboard_project/multi_server_settings.py',
        'kovan_django/urls.py',
        'nginx/kovan.conf',
      ],
    });

    release();
    const result = await waitFor('[data-testid="generator-result"]');
    expect(result.dataset.outcome).toBe('written');
    expect(text('[data-testid="generator-written"]', result)).toBe('5 dosya yazıldı · 1 dosya zaten günceldi');
    expect(all('[data-testid="generator-backup"]', result).map((b) => b.textContent?.trim())).toEqual([
      'yedek: .env.chat_api.kovan-backup-20250614-103012',
    ]);

    // The plan is read again: everything is up to date and nothing is selected any more.
    await until(() => row('nginx/kovan.conf').dataset.status === 'unchanged', 'the reloaded plan');
    expect(NAMES(calls)).toEqual(['workspace_view', 'generator_plan', 'generator_write', 'generator_plan']);
    expect(all('[data-testid="generator-file"]', dialog).every((r) => r.dataset.status === 'unchanged')).toBe(true);
    expect(write.disabled).toBe(true);
    expect(write.textContent?.trim()).toBe('Seçilenleri yaz (0)');
    expect(text('[data-testid="generator-summary"]')).toBe('Bütün dosyalar güncel.');
    // The result stays until the user dismisses it.
    expect(target.querySelector('[data-testid="generator-result"]')).not.toBeNull();

    setLanguage('en');
    flushSync();
    expect(text('[data-testid="generator-written"]')).toBe('5 files written · 1 already up to date');
    expect(text('[data-testid="generator-backup"]')).toBe('backup: .env.chat_api.kovan-backup-20250614-103012');
  });

  it('shows a failed write with its message and re-reads the plan', async () => {
    const calls = serve({
      workspace_view: loadedView,
      generator_plan: generatorPlanFixture,
      generator_write: () => {
        throw {
          kind: 'generate_io',
          message: 'nginx/kovan.conf: Permission denied (os error 13).',
          detail: { type: 'path', path: 'nginx/kovan.conf' },
        };
      },
    });
    await openGenerator();
    one('[data-testid="generator-write"]').click();
    const result = await waitFor('[data-testid="generator-result"]');
    expect(result.dataset.outcome).toBe('writeFailed');
    expect(result.getAttribute('role')).toBe('alert');
    expect(text('[data-testid="notice-message"]', result)).toBe('nginx/kovan.conf yazılamadı.');
    expect(one('[data-testid="notice-message"]', result).title).toBe('nginx/kovan.conf: Permission denied (os error 13).');
    await until(() => calls.filter((c) => c.cmd === 'generator_plan').length === 2, 'the plan to be re-read');
  });
});

describe('preview', () => {
  it('shows a new file’s contents as text, never as markup', async () => {
    serve({ workspace_view: loadedView, generator_plan: generatorPlanFixture });
    await openGenerator();

    // The first file writing would change is shown first.
    expect(text('[data-testid="preview-path"]')).toBe('.env.chat_main');
    const panel = one('[data-testid="generator-preview"]');
    expect(panel.dataset.view).toBe('contents');
    expect(panel.getAttribute('role')).toBe('tabpanel');
    expect(target.querySelector('[data-testid="preview-tab-diff"]')).toBeNull();
    expect(panel.textContent).toContain("SECRET_KEY='***' (50 characters, hidden)");
    expect(target.textContent).toContain('Gizli değerler burada maskelendi');

    one('button', row('dashboard_project/multi_server_settings.py')).click();
    flushSync();
    const settings = one('[data-testid="generator-preview"]');
    expect(settings.querySelector('script, b')).toBeNull();
    expect(settings.textContent).toContain('<script>alert("not markup")</script> <b>stays text</b>');
    expect(all('[data-testid="content-line"]', settings)).toHaveLength(
      generatorPlanFixture.files[3].preview.split('\n').length - 1,
    );
    expect(text('[data-testid="preview-disk-mode"]')).toContain('0664');
    expect(row('dashboard_project/multi_server_settings.py').querySelector('button')?.getAttribute('aria-current')).toBe(
      'true',
    );
  });

  it('shows a changed file’s diff with coloured lines and a tab for its contents', async () => {
    serve({ workspace_view: loadedView, generator_plan: generatorPlanFixture });
    await openGenerator();

    one('button', row('nginx/kovan.conf')).click();
    flushSync();
    const panel = one('[data-testid="generator-preview"]');
    expect(panel.dataset.view).toBe('diff');
    const diffTab = one('[data-testid="preview-tab-diff"]');
    expect(diffTab.textContent?.trim()).toBe('Fark');
    expect(diffTab.getAttribute('aria-selected')).toBe('true');

    const lines = all('[data-testid="diff-line"]', panel);
    const kinds = lines.map((l) => [...l.classList].find((c) => c.startsWith('diff-')));
    expect(kinds).toEqual([
      'diff-header',
      'diff-header',
      'diff-hunk',
      'diff-del',
      'diff-add',
      'diff-context',
      'diff-del',
      'diff-add',
      'diff-context',
      'diff-context',
      'diff-context',
    ]);
    const del = lines[6];
    expect(del.textContent).toContain('-    server 127.0.0.1:8000 weight=1');
    // Line numbers: removed lines count on the disk side, added lines on Kovan's side.
    const nums = (line: HTMLElement) => all('.num', line).map((n) => n.textContent);
    expect(nums(del)).toEqual(['3', '']);
    expect(nums(lines[7])).toEqual(['', '3']);
    expect(nums(lines[8])).toEqual(['4', '4']);

    one('[data-testid="preview-tab-contents"]').click();
    flushSync();
    const contents = one('[data-testid="generator-preview"]');
    expect(contents.dataset.view).toBe('contents');
    expect(contents.querySelector('[data-testid="diff-line"]')).toBeNull();
    expect(contents.textContent).toContain('upstream context7_websocket {');
    expect(one('[data-testid="preview-tab-contents"]').getAttribute('aria-selected')).toBe('true');

    // Arrow keys move back to the diff tab.
    one('[data-testid="preview-tab-contents"]').dispatchEvent(
      new KeyboardEvent('keydown', { key: 'ArrowLeft', bubbles: true }),
    );
    flushSync();
    expect(one('[data-testid="generator-preview"]').dataset.view).toBe('diff');
    expect(document.activeElement).toBe(one('[data-testid="preview-tab-diff"]'));
  });

  it('explains that an edited file will be backed up before it is replaced', async () => {
    serve({ workspace_view: loadedView, generator_plan: generatorPlanFixture });
    await openGenerator();
    one('button', row('.env.chat_api')).click();
    flushSync();
    const hint = one('[data-testid="preview-hint"]');
    expect(hint.classList.contains('warning')).toBe(true);
    expect(hint.textContent).toContain('önce yedeği alınır');
    const kinds = all('[data-testid="diff-line"]').map((l) => l.dataset.kind);
    expect(kinds.filter((k) => k === 'del')).toHaveLength(2);
    expect(kinds.filter((k) => k === 'add')).toHaveLength(1);
  });
});

describe('exporting env files', () => {
  it('asks for a folder through the dialog plugin, then exports into it', async () => {
    const calls = serve({
      workspace_view: loadedView,
      generator_plan: generatorPlanFixture,
      'plugin:dialog|open': '/home/dev/share',
      export_env_files: exportReport,
    });
    await openGenerator();

    const button = one('[data-testid="export-env"]');
    expect(button.textContent?.trim()).toBe('Env dosyalarını dışa aktar');
    button.click();
    const result = await waitFor('[data-testid="export-result"]');

    expect(NAMES(calls)).toEqual(['workspace_view', 'generator_plan', 'plugin:dialog|open', 'export_env_files']);
    expect(calls[2].args).toEqual({
      options: { directory: true, multiple: false, title: 'Env dosyalarının yazılacağı klasörü seçin' },
    });
    expect(calls[3].args).toEqual({ dir: '/home/dev/share' });

    expect(all('[data-testid="exported-path"]', result).map((p) => p.textContent)).toEqual([
      '/home/dev/share/.env.chat_main',
      '/home/dev/share/.env.chat_api',
      '/home/dev/share/.env.chat_websocket',
    ]);
    expect(result.textContent).toContain('3 env dosyası dışa aktarıldı');
    expect(result.textContent).toContain('yedek: /home/dev/share/.env.chat_api.kovan-backup-20250614-103500');
    const note = text('[data-testid="export-secrets"]', result);
    expect(note).toContain('SECRET_KEY');
    expect(note).toContain('0600');
  });

  it('exports into a typed folder without the picker', async () => {
    const calls = serve({
      workspace_view: loadedView,
      generator_plan: generatorPlanFixture,
      export_env_files: exportReport,
    });
    await openGenerator();
    one('[data-testid="export-type"]').click();
    const field = (await waitFor('[data-testid="export-dir"]')) as HTMLInputElement;
    field.value = '  /home/dev/share ';
    field.dispatchEvent(new Event('input', { bubbles: true }));
    await until(() => !(one('[data-testid="export-go"]') as HTMLButtonElement).disabled, 'Export here to be enabled');
    one('[data-testid="export-go"]').click();
    await waitFor('[data-testid="export-result"]');
    expect(NAMES(calls)).toEqual(['workspace_view', 'generator_plan', 'export_env_files']);
    expect(calls[2].args).toEqual({ dir: '/home/dev/share' });
  });

  it('does nothing when the folder picker is cancelled', async () => {
    const calls = serve({
      workspace_view: loadedView,
      generator_plan: generatorPlanFixture,
      'plugin:dialog|open': null,
      export_env_files: exportReport,
    });
    await openGenerator();
    one('[data-testid="export-env"]').click();
    await until(() => calls.some((c) => c.cmd === 'plugin:dialog|open'), 'the folder picker');
    await until(() => !(one('[data-testid="export-env"]') as HTMLButtonElement).disabled, 'the picker to finish');
    expect(NAMES(calls)).not.toContain('export_env_files');
    expect(target.querySelector('[data-testid="export-result"]')).toBeNull();
  });

  it('shows a failed export with its message', async () => {
    serve({
      workspace_view: loadedView,
      generator_plan: generatorPlanFixture,
      'plugin:dialog|open': '/readonly',
      export_env_files: () => {
        throw {
          kind: 'generate_io',
          message: '/readonly/.env.chat_main: Read-only file system (os error 30).',
          detail: { type: 'path', path: '/readonly/.env.chat_main' },
        };
      },
    });
    await openGenerator();
    one('[data-testid="export-env"]').click();
    const result = await waitFor('[data-testid="export-result"]');
    expect(result.dataset.outcome).toBe('exportFailed');
    expect(text('[data-testid="notice-message"]', result)).toBe('/readonly/.env.chat_main yazılamadı.');
    expect(one('[data-testid="notice-message"]', result).title).toContain('Read-only file system');
  });
});

describe('errors and closing', () => {
  it('shows a failed plan with its message, and retries', async () => {
    let fail = true;
    const calls = serve({
      workspace_view: loadedView,
      generator_plan: () => {
        if (fail) throw { kind: 'unquotable_value', message: ".env.chat_api: SECRET_KEY holds a single quote." };
        return generatorPlanFixture;
      },
    });
    render();
    (await waitFor('[data-testid="open-generator"]')).click();
    const error = await waitFor('[data-testid="generator-error"]');
    expect(error.dataset.kind).toBe('unquotable_value');
    expect(text('[data-testid="generator-error-message"]', error)).toBe(
      '.env.chat_api: SECRET_KEY holds a single quote.',
    );
    expect((one('[data-testid="generator-write"]') as HTMLButtonElement).disabled).toBe(true);

    fail = false;
    one('[data-testid="generator-retry"]', error).click();
    await waitFor('[data-testid="generator-file"]');
    expect(NAMES(calls)).toEqual(['workspace_view', 'generator_plan', 'generator_plan']);
    expect(target.querySelector('[data-testid="generator-error"]')).toBeNull();
  });

  it('closes with Escape and the Close button, giving focus back to the header button', async () => {
    const calls = serve({ workspace_view: loadedView, generator_plan: generatorPlanFixture });
    const dialog = await openGenerator();
    const opener = one('[data-testid="open-generator"]');

    dialog.dispatchEvent(new KeyboardEvent('keydown', { key: 'Escape', bubbles: true }));
    flushSync();
    expect(target.querySelector('[data-testid="generator"]')).toBeNull();
    expect(document.activeElement).toBe(opener);

    opener.click();
    flushSync();
    await waitFor('[data-testid="generator-file"]');
    one('[data-testid="generator-close"]').click();
    flushSync();
    expect(target.querySelector('[data-testid="generator"]')).toBeNull();
    expect(document.activeElement).toBe(opener);
    // Each opening reads the plan afresh.
    expect(NAMES(calls)).toEqual(['workspace_view', 'generator_plan', 'generator_plan']);
  });

  it('keeps Tab inside the dialog', async () => {
    serve({ workspace_view: loadedView, generator_plan: generatorPlanFixture });
    const dialog = await openGenerator();
    const write = one('[data-testid="generator-write"]');
    const closeX = one('[data-testid="generator-close-x"]');
    expect(document.activeElement).toBe(closeX);

    write.focus();
    dialog.dispatchEvent(new KeyboardEvent('keydown', { key: 'Tab', bubbles: true, cancelable: true }));
    expect(document.activeElement).toBe(closeX);
    closeX.dispatchEvent(new KeyboardEvent('keydown', { key: 'Tab', shiftKey: true, bubbles: true, cancelable: true }));
    expect(document.activeElement).toBe(write);
  });
});
