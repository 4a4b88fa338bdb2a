// Mounting the whole window against a mocked backend, for the tests that drive it like a user.
import type { Channel } from '@tauri-apps/api/core';
import { mockIPC } from '@tauri-apps/api/mocks';
import { flushSync } from 'svelte';
import { vi } from 'vitest';

import App from '../App.svelte';
import type { LogLine } from '../lib/bindings/LogLine';
import { background } from './fixtures';
import { mountInDocument } from './mounted';

export interface Call {
  cmd: string;
  args: Record<string, unknown>;
}

export type Handler = (args: Record<string, unknown>) => unknown;

export let target: HTMLElement;

/** Mount the whole window; setup.ts unmounts it after the test. */
export function render(): void {
  target = mountInDocument(App, {}).target;
  flushSync();
}

/**
 * Answer each command from `handlers` (a value, or a function of the arguments); the window's own
 * background commands get quiet answers unless `handlers` names them, and are then not recorded.
 * Events are mocked too: `emit` from @tauri-apps/api/event reaches the window's listeners.
 */
export function serve(handlers: Record<string, unknown>): Call[] {
  const calls: Call[] = [];
  mockIPC(
    (cmd, args) => {
      if (!(cmd in handlers) && cmd in background) return background[cmd];
      const payload = (args ?? {}) as Record<string, unknown>;
      calls.push({ cmd, args: payload });
      const answer = handlers[cmd];
      if (answer === undefined) throw { kind: 'unknown_command', message: `no mock for ${cmd}` };
      return typeof answer === 'function' ? (answer as Handler)(payload) : answer;
    },
    { shouldMockEvents: true },
  );
  return calls;
}

export const named = (calls: Call[], cmd: string) => calls.filter((c) => c.cmd === cmd);

/** A promise the test settles when it wants to: for commands that take a while. */
export function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (reason: unknown) => void } {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

export async function waitFor(selector: string, root?: ParentNode): Promise<HTMLElement> {
  return vi.waitFor(
    () => {
      flushSync();
      const found = (root ?? target).querySelector<HTMLElement>(selector);
      if (!found) throw new Error(`${selector} not rendered yet`);
      return found;
    },
    { timeout: 2000, interval: 5 },
  );
}

export async function until(check: () => boolean, what: string, timeout = 2000): Promise<void> {
  await vi.waitFor(
    () => {
      flushSync();
      if (!check()) throw new Error(`still waiting for ${what}`);
    },
    { timeout, interval: 5 },
  );
}

export function one(selector: string, root: ParentNode = target): HTMLElement {
  const found = root.querySelector<HTMLElement>(selector);
  if (!found) throw new Error(`${selector} not found`);
  return found;
}

export function all(selector: string, root: ParentNode = target): HTMLElement[] {
  return [...root.querySelectorAll<HTMLElement>(selector)];
}

export function text(selector: string, root: ParentNode = target): string {
  return one(selector, root).textContent?.replace(/\s+/g, ' ').trim() ?? '';
}

export function card(instance: string): HTMLElement {
  return one(`[data-testid="instance-card"][data-instance="${instance}"]`);
}

export function button(testid: string, root: ParentNode = target): HTMLButtonElement {
  return one(`[data-testid="${testid}"]`, root) as HTMLButtonElement;
}

/** Send a message down a log channel the way the backend does: indexed, in order. */
export function sender(channel: Channel<LogLine[]>): (lines: LogLine[]) => void {
  let index = 0;
  const internals = (window as unknown as { __TAURI_INTERNALS__: { runCallback: (id: number, data: unknown) => void } })
    .__TAURI_INTERNALS__;
  return (lines) => internals.runCallback(channel.id, { index: index++, message: lines });
}
