// Starting, stopping and watching instances through the whole window, the way a user (and the
// end-to-end test) does: cards, presets, Stop all, port conflicts, the Redis card, the exit setting.
import type { Channel } from '@tauri-apps/api/core';
import { emit } from '@tauri-apps/api/event';
import { flushSync } from 'svelte';
import { describe, expect, it } from 'vitest';

import type { InstanceState } from './lib/bindings/InstanceState';
import { setLanguage } from './lib/i18n/index.svelte';
import { instanceState, loadedView, stoppedStates, viewWithWorker } from './test/fixtures';
import {
  all,
  button,
  card,
  deferred,
  named,
  one,
  render,
  sender,
  serve,
  target,
  text,
  until,
  waitFor,
} from './test/harness';

const running = (name: string, port: number, patch: Partial<InstanceState> = {}) =>
  instanceState(name, port, { status: 'running', pid: 4000 + (port - 8000), startedAt: Date.now() - 5_000, ...patch });

async function ready(): Promise<void> {
  render();
  await waitFor('[data-testid="instance-card"]');
}

describe('instance cards', () => {
  it('show each instance’s state from instance_states', async () => {
    serve({
      workspace_view: loadedView,
      instance_states: [
        running('chat_main', 8000, { pid: 4242, startedAt: Date.now() - 192_000, adopted: true, restarts: 2 }),
        instanceState('chat_api', 8001, {
          status: 'crashed',
          detail: 'exited with code 3 after 1.2 s',
          exitCode: 3,
          lastLines: ['Traceback (most recent call last):', 'ValueError: <b>boom</b>'],
        }),
        instanceState('chat_websocket', 8002, { status: 'starting', pid: 4999 }),
        instanceState('redis-server', 6379),
      ],
    });
    await ready();
    await until(() => card('chat_main').dataset.status === 'running', 'the states');

    const main = card('chat_main');
    expect(text('[data-testid="status"]', main)).toBe('Denetleniyor');
    expect(one('[data-testid="status"]', main).dataset.status).toBe('running');
    expect(text('[data-testid="pid"]', main)).toBe('PID 4242');
    expect(text('[data-testid="uptime"]', main)).toBe("çalışma süresi 3 dk");
    expect(text('[data-testid="restarts"]', main)).toBe('yeniden başlatma: 2');
    expect(text('[data-testid="adopted"]', main)).toBe('önceki oturumdan');
    expect(button('start', main).disabled).toBe(true);
    expect(button('stop', main).disabled).toBe(false);
    expect(button('restart', main).disabled).toBe(false);

    const api = card('chat_api');
    expect(api.dataset.status).toBe('crashed');
    expect(text('[data-testid="status"]', api)).toBe('Hata');
    expect(text('[data-testid="crash-detail"]', api)).toBe('exited with code 3 after 1.2 s');
    expect(text('[data-testid="crash-exit"]', api)).toBe('çıkış kodu 3');
    const lastLines = one('[data-testid="last-lines"]', api);
    expect(lastLines.tagName).toBe('DETAILS');
    expect(lastLines.textContent).toContain('ValueError: <b>boom</b>');
    expect(lastLines.querySelector('b')).toBeNull();
    expect(api.querySelector('[data-testid="pid"]')).toBeNull();
    expect(api.querySelector('[data-testid="uptime"]')).toBeNull();
    expect(button('start', api).disabled).toBe(false);
    expect(button('stop', api).disabled).toBe(true);
    expect(button('restart', api).disabled).toBe(true);

    const ws = card('chat_websocket');
    expect(text('[data-testid="status"]', ws)).toBe('Başlıyor');
    expect(one('[data-testid="status"] .spinner', ws)).toBeTruthy();
    expect(ws.querySelector('[data-testid="uptime"]')).toBeNull();
    expect(button('start', ws).disabled).toBe(true);
    expect(button('stop', ws).disabled).toBe(false);
    expect(button('restart', ws).disabled).toBe(true);

    expect(button('stop-all').disabled).toBe(false);

    setLanguage('en');
    flushSync();
    expect(text('[data-testid="status"]', main)).toBe('Checking');
    expect(text('[data-testid="uptime"]', main)).toBe("up 3m");
    expect(text('[data-testid="adopted"]', main)).toBe('from an earlier session');
    expect(text('[data-testid="status"]', api)).toBe('Failing');
    expect(text('[data-testid="crash-exit"]', api)).toBe('exit code 3');
    expect(text('[data-testid="stop"]', main)).toBe('Stop');
  });

  it('switch from starting to running on instance://status events', async () => {
    serve({ workspace_view: loadedView });
    await ready();
    const main = card('chat_main');
    await until(() => main.dataset.status === 'stopped', 'the states');
    expect(text('[data-testid="status"]', main)).toBe('Durdu');

    await emit('instance://status', instanceState('chat_main', 8000, { status: 'starting', pid: 4242 }));
    flushSync();
    expect(main.dataset.status).toBe('starting');
    expect(text('[data-testid="status"]', main)).toBe('Başlıyor');
    expect(button('stop-all').disabled).toBe(false);

    await emit('instance://status', running('chat_main', 8000, { pid: 4242 }));
    flushSync();
    expect(main.dataset.status).toBe('running');
    expect(target.querySelector('[data-instance="chat_main"][data-status="running"]')).toBe(main);
    expect(text('[data-testid="status"]', main)).toBe('Denetleniyor');
    expect(text('[data-testid="pid"]', main)).toBe('PID 4242');
    // Other cards are untouched.
    expect(card('chat_api').dataset.status).toBe('stopped');
  });

  it('tick the uptime every second while running', async () => {
    serve({
      workspace_view: loadedView,
      instance_states: [running('chat_main', 8000, { startedAt: Date.now() - 10_400 })],
    });
    await ready();
    await until(() => card('chat_main').querySelector('[data-testid="uptime"]') !== null, 'the uptime');
    const first = text('[data-testid="uptime"]', card('chat_main'));
    expect(first).toMatch(/^çalışma süresi 1[01] sn$/);
    await until(() => text('[data-testid="uptime"]', card('chat_main')) !== first, 'the next second', 2500);
  });

  it('Start calls start_instance with the instance and shows progress until it is ready', async () => {
    const start = deferred<InstanceState>();
    const calls = serve({ workspace_view: loadedView, start_instance: () => start.promise });
    await ready();
    const main = card('chat_main');
    await until(() => main.dataset.status === 'stopped', 'the states');

    button('start', main).click();
    flushSync();
    expect(named(calls, 'start_instance').map((c) => c.args)).toEqual([{ instance: 'chat_main' }]);
    expect(text('[data-testid="start"]', main)).toBe('Başlatılıyor…');
    expect(button('start', main).disabled).toBe(true);
    expect(button('start', main).getAttribute('aria-busy')).toBe('true');
    expect(button('restart', main).disabled).toBe(true);
    // A start still waiting for readiness can be stopped.
    expect(button('stop', main).disabled).toBe(false);

    start.resolve(running('chat_main', 8000, { pid: 4242 }));
    await until(() => main.dataset.status === 'running', 'running');
    expect(text('[data-testid="start"]', main)).toBe('Başlat');
    expect(button('start', main).disabled).toBe(true);
    expect(button('restart', main).disabled).toBe(false);
  });

  it('Stop calls stop_instance and reads the states again; Restart calls restart_instance', async () => {
    let states = [running('chat_main', 8000), ...stoppedStates.slice(1)];
    const stop = deferred<unknown>();
    const calls = serve({
      workspace_view: loadedView,
      instance_states: () => states,
      stop_instance: () => stop.promise,
      restart_instance: () => running('chat_main', 8000, { pid: 5555 }),
    });
    await ready();
    const main = card('chat_main');
    await until(() => main.dataset.status === 'running', 'running');

    button('restart', main).click();
    await until(() => text('[data-testid="pid"]', main) === 'PID 5555', 'the restarted process');
    expect(named(calls, 'restart_instance').map((c) => c.args)).toEqual([{ instance: 'chat_main' }]);

    button('stop', main).click();
    flushSync();
    expect(named(calls, 'stop_instance').map((c) => c.args)).toEqual([{ instance: 'chat_main' }]);
    expect(text('[data-testid="stop"]', main)).toBe('Durduruluyor…');
    expect(button('stop', main).disabled).toBe(true);
    expect(button('start', main).disabled).toBe(true);

    states = stoppedStates;
    stop.resolve({ instance: 'chat_main', how: 'terminated', millis: 120 });
    await until(() => main.dataset.status === 'stopped', 'stopped');
    expect(named(calls, 'instance_states').length).toBeGreaterThanOrEqual(2);
    expect(button('start', main).disabled).toBe(false);
    expect(button('stop-all').disabled).toBe(true);
  });

  it('shows other refusals on the card', async () => {
    serve({
      workspace_view: loadedView,
      start_instance: () => {
        throw { kind: 'missing', message: 'chat_main: manage.py not found at /p/manage.py. Set django_root.' };
      },
    });
    await ready();
    button('start', card('chat_main')).click();
    const error = await waitFor('[data-testid="card-error"]', card('chat_main'));
    expect(error.dataset.kind).toBe('missing');
    expect(error.textContent).toContain('Başlatma başarısız');
    expect(text('[data-testid="card-error-message"]', error)).toContain('manage.py not found');
    one('[data-testid="card-error-dismiss"]', error).click();
    flushSync();
    expect(card('chat_main').querySelector('[data-testid="card-error"]')).toBeNull();
  });
});

describe('migrations not applied', () => {
  it('a start refused under migrate = "ask" asks, and the yes starts again migrating first', async () => {
    const message =
      'chat_main: 3 migrations not applied (a.0001, b.0001, c.0001); nothing was started: migrate = "ask" and nobody was asked.';
    const calls = serve({
      workspace_view: loadedView,
      start_instance: (args: Record<string, unknown>) => {
        if (!args.migrateFirst) {
          throw {
            kind: 'migrations_pending',
            message,
            detail: { type: 'migrations', unit: 'chat', instance: 'chat_main', unapplied: 3 },
          };
        }
        return running('chat_main', 8000);
      },
    });
    await ready();
    const main = card('chat_main');
    button('start', main).click();
    const error = await waitFor('[data-testid="card-error"]', main);
    expect(error.dataset.kind).toBe('migrations_pending');
    expect(text('[data-testid="card-error-message"]', error)).toContain('chat veritabanında uygulanmamış 3 migration var');
    // A question to answer, not a failure: its own title and the amber of a question.
    expect(text('strong', error)).toBe("Başlatmadan önce: migration'lar");
    expect(error.classList.contains('question')).toBe(true);
    one('[data-testid="migrate-and-start"]', error).click();
    await until(() => main.dataset.status === 'running', 'running');
    expect(named(calls, 'start_instance').map((c) => c.args)).toEqual([
      { instance: 'chat_main' },
      { instance: 'chat_main', migrateFirst: true },
    ]);
    expect(main.querySelector('[data-testid="card-error"]')).toBeNull();
  });
});

describe('packages the interpreter lacks', () => {
  const command = ".venv/bin/python -m pip install 'redis>=5'";
  const refusal = {
    kind: 'packages_missing',
    message: `chat_main: nothing was started: .venv/bin/python lacks \`redis\`. Install with: ${command}`,
    detail: {
      type: 'packages',
      instance: 'chat_main',
      python: '.venv/bin/python',
      missing: [{ import: 'redis', requirement: 'redis>=5', neededBy: 'chat_main (cache = "redis")' }],
      requirements: ['redis>=5'],
      command,
    },
  };

  it('a refused start shows what is missing and the command; Install runs it with its output, then Start starts', async () => {
    let installed = false;
    const calls = serve({
      workspace_view: loadedView,
      start_instance: () => {
        if (!installed) throw refusal;
        return running('chat_main', 8000);
      },
      install_requirements: (args: Record<string, unknown>) => {
        const send = sender<string>(args.onLine as Channel<string>);
        send('Collecting redis>=5');
        send('Successfully installed redis-6.4.0');
        installed = true;
        return { instance: 'chat_main', command, output: ['Collecting redis>=5', 'Successfully installed redis-6.4.0'] };
      },
    });
    await ready();
    const main = card('chat_main');
    button('start', main).click();
    const error = await waitFor('[data-testid="card-error"]', main);
    expect(error.dataset.kind).toBe('packages_missing');
    expect(text('[data-testid="card-error-message"]', error)).toBe(
      '.venv/bin/python içinde redis yok; bu yapılandırmanın buna ihtiyacı var. Hiçbir şey başlatılmadı.',
    );
    const fix = one('[data-testid="packages-fix"]', error);
    expect(all('[data-testid="packages-missing"]', fix).map((li) => li.dataset.import)).toEqual(['redis']);
    expect(text('[data-testid="packages-command"]', fix)).toBe(command);
    expect(text('[data-testid="packages-install"]', fix)).toBe('Kur');
    // Never unasked: nothing is installed until the click.
    expect(named(calls, 'install_requirements')).toEqual([]);
    button('packages-install', fix).click();
    await waitFor('[data-testid="packages-fix"][data-phase="done"]', main);
    expect(named(calls, 'install_requirements').map((c) => [c.args.instance, c.args.requirements])).toEqual([
      ['chat_main', ['redis>=5']],
    ]);
    expect(one('[data-testid="packages-output"]', fix).textContent).toBe(
      'Collecting redis>=5\nSuccessfully installed redis-6.4.0',
    );
    expect(text('[data-testid="packages-installed"]', fix)).toBe('Kuruldu: redis. Artık başlatabilirsiniz.');
    expect(fix.querySelector('[data-testid="packages-install"]')).toBeNull();
    // No longer a failure: the card says it is ready to start.
    expect(error.dataset.resolved).toBe('true');
    expect(error.querySelector('[data-testid="card-error-message"]')).toBeNull();
    expect(text('strong', error)).toBe('Başlatmaya hazır');
    button('packages-start', fix).click();
    await until(() => main.dataset.status === 'running', 'running');
    expect(named(calls, 'start_instance').length).toBe(2);
    expect(main.querySelector('[data-testid="card-error"]')).toBeNull();
  });

  it('a failed install says so in English too, keeps pip’s lines and offers to try again', async () => {
    setLanguage('en');
    serve({
      workspace_view: loadedView,
      start_instance: () => {
        throw refusal;
      },
      install_requirements: (args: Record<string, unknown>) => {
        sender<string>(args.onLine as Channel<string>)('ERROR: No matching distribution found for redis>=5');
        throw {
          kind: 'install_failed',
          message: `chat_main: \`${command}\` failed (exit status 1)`,
          detail: { type: 'instance', instance: 'chat_main' },
        };
      },
    });
    await ready();
    const main = card('chat_main');
    button('start', main).click();
    const fix = await waitFor('[data-testid="packages-fix"]', main);
    expect(text('[data-testid="card-error-message"]', main)).toBe(
      '.venv/bin/python lacks redis, which this configuration needs; nothing was started.',
    );
    expect(text('[data-testid="packages-install"]', fix)).toBe('Install');
    button('packages-install', fix).click();
    await waitFor('[data-testid="packages-fix"][data-phase="failed"]', main);
    expect(text('[data-testid="packages-error"]', fix)).toBe('The installation failed: chat_main: pip install failed.');
    expect(one('[data-testid="packages-error"]', fix).dataset.kind).toBe('install_failed');
    expect(text('[data-testid="packages-output"]', fix)).toBe('ERROR: No matching distribution found for redis>=5');
    expect(text('[data-testid="packages-install"]', fix)).toBe('Try again');
    expect(fix.querySelector('[data-testid="packages-start"]')).toBeNull();
  });

  it('a site’s start refused in its preflight offers the same Install, then starts the site again', async () => {
    const loaded = loadedView as Extract<typeof loadedView, { state: 'loaded' }>;
    let installed = false;
    const calls = serve({
      workspace_view: {
        ...loaded,
        sites: [
          {
            name: 'chat',
            instances: ['chat_main', 'chat_api'],
            frontDoor: 8080,
            url: 'http://127.0.0.1:8080/',
            routes: [{ prefix: '/', role: 'main', members: ['chat_main'] }],
            companions: [],
            shares: [],
          },
        ],
      },
      start_site: () => {
        if (!installed) {
          throw {
            kind: 'preflight_failed',
            message: `Nothing was started: ${refusal.message}`,
            detail: { type: 'preflight', problems: [refusal] },
          };
        }
        return [running('chat_main', 8000), running('chat_api', 8001)];
      },
      install_requirements: () => {
        installed = true;
        return { instance: 'chat_main', command, output: [] };
      },
    });
    await ready();
    button('site-start').click();
    const error = await waitFor('[data-testid="site-error"]');
    const fix = one('[data-testid="packages-fix"]', error);
    expect(text('[data-testid="packages-command"]', fix)).toBe(command);
    button('packages-install', fix).click();
    await waitFor('[data-testid="site-error"] [data-testid="packages-fix"][data-phase="done"]');
    button('packages-start', fix).click();
    await until(
      () => named(calls, 'start_site').length === 2 && target.querySelector('[data-testid="site-error"]') === null,
      'the site started again without its error',
    );
  });
});

describe('a preset with migrations not applied', () => {
  it('is refused in the banner, whose Apply and start starts it again migrating first', async () => {
    const calls = serve({
      workspace_view: loadedView,
      start_preset: (args: Record<string, unknown>) => {
        if (!args.migrateFirst) {
          throw {
            kind: 'migrations_pending',
            message: 'chat_main: 3 migrations not applied; nothing was started.',
            detail: { type: 'migrations', unit: 'chat', instance: 'chat_main', unapplied: 3 },
          };
        }
        return [running('chat_main', 8000)];
      },
    });
    await ready();
    one('[data-testid="preset-start"][data-preset="dev"]').click();
    const banner = await waitFor('[data-testid="error-banner"]');
    expect(banner.dataset.kind).toBe('migrations_pending');
    one('[data-testid="banner-migrate-and-start"]', banner).click();
    await until(() => card('chat_main').dataset.status === 'running', 'running');
    expect(named(calls, 'start_preset').map((c) => c.args)).toEqual([
      { preset: 'dev' },
      { preset: 'dev', migrateFirst: true },
    ]);
  });
});

describe('port conflicts', () => {
  const foreign = 'chat_main: port 8000 is taken by PID 77 (nc -l 8000). Stop that process yourself.';
  const foreignDetail = { type: 'portInUse', instance: 'chat_main', port: 8000, holder: { pid: 77, command: 'nc -l 8000' }, lostInstance: false, nextFree: null };

  it('show the message and start on the port the user picks', async () => {
    let attempt = 0;
    const calls = serve({
      workspace_view: loadedView,
      start_instance: (args: Record<string, unknown>) => {
        attempt++;
        if (attempt === 1) throw { kind: 'port_in_use', message: foreign, detail: foreignDetail };
        return running('chat_main', args.port as number);
      },
    });
    await ready();
    const main = card('chat_main');
    button('start', main).click();

    const panel = await waitFor('[data-testid="port-conflict"]', main);
    // Worded in the window's language from the detail; core's sentence is the tooltip.
    const message = one('[data-testid="conflict-message"]', panel);
    expect(message.textContent?.trim()).toBe(
      'chat_main: 8000 portunu PID 77 (nc -l 8000) tutuyor. O süreci kendiniz durdurun ya da başka bir portta başlatın.',
    );
    expect(message.title).toBe(foreign);
    const port = one('[data-testid="conflict-port"]', panel) as HTMLInputElement;
    expect(port.value).toBe('8001');
    expect(text('[data-testid="start-on-port"]', panel)).toBe('Port 8001 ile başlat');
    expect(text('[data-testid="stop-lost"]', panel)).toBe('Onu durdur');
    expect(main.querySelector('[data-testid="card-error"]')).toBeNull();

    port.value = '8005';
    port.dispatchEvent(new Event('input', { bubbles: true }));
    flushSync();
    expect(text('[data-testid="start-on-port"]', panel)).toBe('Port 8005 ile başlat');
    button('start-on-port', panel).click();

    await until(() => main.dataset.status === 'running', 'running on the other port');
    expect(named(calls, 'start_instance').map((c) => c.args)).toEqual([
      { instance: 'chat_main' },
      { instance: 'chat_main', port: 8005 },
    ]);
    expect(main.querySelector('[data-testid="port-conflict"]')).toBeNull();
    expect(one('[data-testid="port"]', main).dataset.port).toBe('8005');
    expect(text('[data-testid="port-override"]', main)).toBe('kovan.toml: 8000');
  });

  it('offer core’s next free port, and Stop it shows core’s refusal', async () => {
    const lost =
      'chat_main: port 8000 is taken by PID 4242 (python manage.py runserver 127.0.0.1:8000). It is this instance, left running by an earlier Kovan: stop it or start it on the next free port, 8003.';
    const calls = serve({
      workspace_view: loadedView,
      start_instance: () => {
        throw { kind: 'port_in_use', message: lost, detail: { type: 'portInUse', instance: 'chat_main', port: 8000, holder: { pid: 4242, command: 'python manage.py runserver 127.0.0.1:8000' }, lostInstance: true, nextFree: 8003 } };
      },
      stop_lost_instance: () => {
        throw { kind: 'port_in_use', message: foreign, detail: foreignDetail };
      },
    });
    await ready();
    const main = card('chat_main');
    button('start', main).click();
    const panel = await waitFor('[data-testid="port-conflict"]', main);
    expect((one('[data-testid="conflict-port"]', panel) as HTMLInputElement).value).toBe('8003');

    button('stop-lost', panel).click();
    const refusal = await waitFor('[data-testid="conflict-stop-error"]', main);
    expect(refusal.textContent).toContain('Durdurulmadı');
    expect(refusal.textContent).toContain('PID 77');
    expect(named(calls, 'stop_lost_instance').map((c) => c.args)).toEqual([{ instance: 'chat_main' }]);
    // Refused: nothing was started again.
    expect(named(calls, 'start_instance')).toHaveLength(1);

    one('[data-testid="conflict-dismiss"]', main).click();
    flushSync();
    expect(main.querySelector('[data-testid="port-conflict"]')).toBeNull();
  });

  it('Stop it stops the lost instance, then starts this one', async () => {
    let attempt = 0;
    const calls = serve({
      workspace_view: loadedView,
      start_instance: () => {
        attempt++;
        if (attempt === 1)
          throw {
            kind: 'port_in_use',
            message: 'chat_main: port 8000 is taken by PID 4242.',
            detail: { type: 'portInUse', instance: 'chat_main', port: 8000, holder: { pid: 4242, command: 'python' }, lostInstance: true, nextFree: null },
          };
        return running('chat_main', 8000);
      },
      stop_lost_instance: { instance: 'chat_main', how: 'terminated', millis: 90 },
    });
    await ready();
    const main = card('chat_main');
    button('start', main).click();
    button('stop-lost', await waitFor('[data-testid="port-conflict"]', main)).click();
    await until(() => main.dataset.status === 'running', 'running');
    expect(calls.filter((c) => c.cmd !== 'workspace_view').map((c) => [c.cmd, c.args])).toEqual([
      ['start_instance', { instance: 'chat_main' }],
      ['stop_lost_instance', { instance: 'chat_main' }],
      ['start_instance', { instance: 'chat_main' }],
    ]);
    expect(main.querySelector('[data-testid="port-conflict"]')).toBeNull();
  });
});

describe('presets and Stop all', () => {
  it('a preset button calls start_preset with the preset’s name', async () => {
    const started = deferred<InstanceState[]>();
    const calls = serve({ workspace_view: loadedView, start_preset: () => started.promise });
    await ready();

    const dev = one('[data-testid="preset-start"][data-preset="dev"]') as HTMLButtonElement;
    const chat = one('[data-testid="preset-start"][data-preset="chat"]') as HTMLButtonElement;
    expect(text('.label', dev)).toBe('Dev çiftini başlat');
    expect(text('.label', chat)).toBe('Chat üçlüsünü başlat');
    expect(text('[data-testid="preset-members"]', dev)).toBe('chat_main, chat_api');

    dev.click();
    flushSync();
    expect(named(calls, 'start_preset').map((c) => c.args)).toEqual([{ preset: 'dev' }]);
    expect(text('.label', dev)).toBe('Başlatılıyor…');
    expect(dev.getAttribute('aria-busy')).toBe('true');
    expect(chat.disabled).toBe(true);

    started.resolve([running('chat_main', 8000), running('chat_api', 8001)]);
    await until(() => card('chat_api').dataset.status === 'running', 'the members running');
    expect(card('chat_main').dataset.status).toBe('running');
    expect(card('chat_websocket').dataset.status).toBe('stopped');
    expect(dev.disabled).toBe(false);

    setLanguage('en');
    flushSync();
    expect(text('.label', dev)).toBe('Start the dev pair');
    expect(text('.label', chat)).toBe('Start the chat trio');
  });

  it('names any other preset by its name', async () => {
    serve({
      workspace_view: { ...loadedView, presets: [{ name: 'api_only', instances: ['chat_api'] }] },
    });
    await ready();
    const preset = one('[data-testid="preset-start"][data-preset="api_only"]');
    expect(text('.label', preset)).toBe('“api_only” hazır ayarını başlat');
    setLanguage('en');
    flushSync();
    expect(text('.label', preset)).toBe('Start preset “api_only”');
  });

  it('a preflight_failed rejection shows the banner with core’s message, until dismissed', async () => {
    const message =
      'Nothing was started: chat_main: port 8000 is taken by PID 77 (nc -l 8000). Stop that process yourself. chat_api: Python not found at /p/.venv/bin/python. Create the venv.';
    serve({
      workspace_view: loadedView,
      start_preset: () => {
        throw {
          kind: 'preflight_failed',
          message,
          detail: {
            type: 'preflight',
            problems: [
              {
                kind: 'port_in_use',
                message: 'chat_main: port 8000 is taken by PID 77 (nc -l 8000). Stop that process yourself.',
                detail: {
                  type: 'portInUse',
                  instance: 'chat_main',
                  port: 8000,
                  holder: { pid: 77, command: 'nc -l 8000' },
                  lostInstance: false,
                  nextFree: null,
                },
              },
              {
                kind: 'missing',
                message: 'chat_api: Python not found at /p/.venv/bin/python. Create the venv.',
                detail: { type: 'instance', instance: 'chat_api' },
              },
            ],
          },
        };
      },
    });
    await ready();
    one('[data-testid="preset-start"][data-preset="chat"]').click();

    const banner = await waitFor('[data-testid="error-banner"]');
    expect(banner.dataset.kind).toBe('preflight_failed');
    expect(banner.getAttribute('role')).toBe('alert');
    expect(text('[data-testid="banner-title"]', banner)).toBe(
      '“chat” başlatılamadı: denetimlerden biri başarısız olduğu için hiçbir üye başlatılmadı',
    );
    expect(text('[data-testid="banner-message"]', banner)).toBe('2 denetim başarısız oldu; hiçbir şey başlatılmadı.');
    expect(one('[data-testid="banner-message"]', banner).title).toBe(message);
    // Every member's problem, worded in the window's language, core's sentence as its tooltip.
    const problems = all('[data-testid="banner-problem"]', banner);
    expect(problems.map((p) => p.dataset.kind)).toEqual(['port_in_use', 'missing']);
    expect(problems[0].textContent?.trim()).toBe(
      'chat_main: 8000 portunu PID 77 (nc -l 8000) tutuyor. O süreci kendiniz durdurun ya da başka bir portta başlatın.',
    );
    expect(problems[1].title).toBe('chat_api: Python not found at /p/.venv/bin/python. Create the venv.');
    expect(all('[data-testid="instance-card"]').every((c) => c.dataset.status === 'stopped')).toBe(true);

    setLanguage('en');
    flushSync();
    expect(text('[data-testid="banner-title"]', banner)).toBe(
      '“chat” could not be started: a check failed, so no member was started',
    );

    one('[data-testid="banner-dismiss"]', banner).click();
    flushSync();
    expect(target.querySelector('[data-testid="error-banner"]')).toBeNull();
  });

  it('Stop all is disabled while nothing runs, and calls stop_all', async () => {
    let states = stoppedStates;
    const stopped = deferred<unknown>();
    const calls = serve({
      workspace_view: loadedView,
      instance_states: () => states,
      stop_all: () => stopped.promise,
    });
    await ready();
    const stopAll = button('stop-all');
    await until(() => named(calls, 'instance_states').length > 0, 'the states');
    expect(stopAll.disabled).toBe(true);
    expect(stopAll.textContent?.trim()).toBe('Tümünü durdur');
    expect(stopAll.title).toContain('Çalışan bir şey yok');

    await emit('instance://status', running('chat_api', 8001));
    flushSync();
    expect(stopAll.disabled).toBe(false);
    expect(stopAll.title).toContain('cache verisi silinir');

    stopAll.click();
    flushSync();
    expect(named(calls, 'stop_all')).toHaveLength(1);
    expect(stopAll.textContent?.trim()).toBe('Durduruluyor…');
    expect(stopAll.disabled).toBe(true);

    states = stoppedStates;
    stopped.resolve([{ instance: 'chat_api', how: 'terminated', millis: 110 }]);
    await until(() => card('chat_api').dataset.status === 'stopped', 'stopped');
    expect(stopAll.disabled).toBe(true);
    expect(stopAll.textContent?.trim()).toBe('Tümünü durdur');
  });
});

describe('the Redis card', () => {
  it('shows PING latency and DBSIZE while Redis answers', async () => {
    serve({ workspace_view: loadedView, redis_probe: { pingMs: 0.42, dbsize: 1234 } });
    await ready();
    const redis = await waitFor('[data-testid="redis-card"]');
    await until(() => redis.dataset.status === 'running', 'the probe');
    expect(text('[data-testid="redis-status"]', redis)).toBe('Çalışıyor');
    expect(text('[data-testid="redis-ping"]', redis)).toBe('PING 0,4 ms');
    expect(text('[data-testid="redis-dbsize"]', redis)).toBe('1.234 anahtar');
    expect(text('[data-testid="redis-url"]', redis)).toBe('redis://:***@127.0.0.1:6379/0');
    expect(one('[data-testid="redis-managed"]', redis).dataset.managed).toBe('managed');
    // The instance cards' status pills stay the first ones on the page.
    expect(one('[data-testid="status"]').closest('[data-testid="instance-card"]')).not.toBeNull();

    setLanguage('en');
    flushSync();
    expect(text('[data-testid="redis-ping"]', redis)).toBe('PING 0.4 ms');
    expect(text('[data-testid="redis-dbsize"]', redis)).toBe('1,234 keys');
  });

  it('says when Redis does not answer, and when Kovan runs it', async () => {
    serve({
      workspace_view: loadedView,
      redis_probe: null,
      instance_states: [
        ...stoppedStates.slice(0, 3),
        instanceState('redis-server', 6379, { status: 'failedToStart', detail: 'redis-server did not accept connections within 10 s' }),
      ],
    });
    await ready();
    const redis = await waitFor('[data-testid="redis-card"]');
    await until(() => redis.dataset.status === 'failedToStart', 'the state');
    expect(text('[data-testid="crash-detail"]', redis)).toContain('did not accept connections');

    await emit('instance://status', instanceState('redis-server', 6379, { status: 'stopped' }));
    await until(() => redis.dataset.status === 'notAnswering', 'not answering');
    expect(text('[data-testid="redis-status"]', redis)).toBe('yanıt vermiyor');

    await emit('instance://status', running('redis-server', 6379, { pid: 321 }));
    flushSync();
    expect(one('[data-testid="redis-managed"]', redis).dataset.managed).toBe('kovan');
    expect(text('[data-testid="redis-managed"]', redis)).toBe('Kovan çalıştırıyor');
    expect(one('[data-testid="redis-managed"]', redis).title).toContain('cache verisi silinir');
  });

  it('is absent when the workspace has no Redis', async () => {
    serve({ workspace_view: { ...loadedView, redisUrl: null, redisManaged: false }, instance_states: stoppedStates.slice(0, 3) });
    await ready();
    await until(() => card('chat_main').dataset.status === 'stopped', 'the states');
    expect(target.querySelector('[data-testid="redis-card"]')).toBeNull();
  });
});

describe('leave running on exit', () => {
  it('is off by default and calls set_leave_running when switched', async () => {
    const calls = serve({ workspace_view: loadedView, set_leave_running: null });
    await ready();
    const toggle = one('[data-testid="leave-running"]') as HTMLInputElement;
    expect(toggle.checked).toBe(false);
    expect(toggle.closest('label')?.textContent).toContain('Çıkışta çalışır bırak');
    expect(toggle.closest('label')?.title).toContain('başlattığı her şeyi durdurur');
    await until(() => named(calls, 'set_leave_running').length === 1, 'the initial sync');
    expect(named(calls, 'set_leave_running')[0].args).toEqual({ leave: false });

    toggle.click();
    await until(() => named(calls, 'set_leave_running').length === 2, 'the switch');
    expect(named(calls, 'set_leave_running')[1].args).toEqual({ leave: true });
    await until(() => toggle.checked && !toggle.disabled, 'the switch to settle');
  });
});

describe('companion processes', () => {
  it('show on their unit’s card with the state core sends, and open their own log', async () => {
    const calls = serve({
      workspace_view: viewWithWorker,
      instance_states: [running('chat_main', 8000, { pid: 4242 }), instanceState('chat_worker', 0)],
      subscribe_logs: () => null,
    });
    await ready();
    const main = card('chat_main');
    const worker = await waitFor('[data-companion="chat_worker"]', main);
    expect(text('.title', one('[data-testid="companions"]', main))).toBe('Yardımcı süreçler');
    expect(worker.dataset.status).toBe('stopped');
    expect(text('[data-testid="companion-status"]', worker)).toBe('Durduruldu');
    // The other cards have none.
    expect(card('chat_api').querySelector('[data-testid="companions"]')).toBeNull();

    await emit('instance://status', instanceState('chat_worker', 0, { status: 'running', pid: 5151, restarts: 1 }));
    flushSync();
    expect(worker.dataset.status).toBe('running');
    expect(text('[data-testid="companion-status"]', worker)).toBe('Çalışıyor');
    expect(worker.textContent).toContain('PID 5151');
    expect(worker.textContent).toContain('yeniden başlatma: 1');
    // The card's own state is the instance's, untouched by its companion's.
    expect(text('[data-testid="pid"]', main)).toBe('PID 4242');

    button('companion-logs', worker).click();
    const drawer = await waitFor('[data-testid="log-drawer"]');
    expect(drawer.dataset.instance).toBe('chat_worker');
    await until(() => named(calls, 'subscribe_logs').length === 1, 'subscribe_logs');
    expect(named(calls, 'subscribe_logs')[0].args.instance).toBe('chat_worker');
    expect(drawer.textContent).toContain('logs/chat_worker.log');
  });
});
