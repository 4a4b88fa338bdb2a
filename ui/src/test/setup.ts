// Run before every UI test file (vite.config.ts: test.setupFiles). Each test starts in Turkish with
// empty storage and ends with its components unmounted and the IPC mocks gone; vitest itself
// restores spies and stubbed globals (restoreMocks, unstubGlobals).
import { clearMocks } from '@tauri-apps/api/mocks';
import { afterEach, beforeEach } from 'vitest';

import { setLanguage } from '../lib/i18n/index.svelte';
import { unmountAll } from './mounted';

function fresh(): void {
  localStorage.clear();
  setLanguage('tr');
}

beforeEach(fresh);

afterEach(() => {
  // Unmount first: the window's components stop listening through the mocks.
  unmountAll();
  clearMocks();
  fresh();
});
