/// <reference types="vitest/config" />
import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

// The Tauri window loads the built files from ui/dist (tauri.conf.json: frontendDist "ui/dist",
// no devUrl), so paths must be relative and the output must run on WebKitGTK 2.4x (≈ Safari 15+).
export default defineConfig(({ mode }) => ({
  plugins: [svelte()],
  base: './',
  clearScreen: false,
  server: {
    port: 5173,
    strictPort: true,
  },
  preview: {
    port: 4173,
    strictPort: true,
  },
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: ['es2021', 'safari15'],
    sourcemap: false,
  },
  // Under vitest, resolve Svelte's browser build so `mount` works in jsdom.
  resolve: mode === 'test' ? { conditions: ['browser'] } : undefined,
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.ts'],
    // Storage, language, mounted components and IPC mocks reset around every test (src/test/setup.ts).
    setupFiles: ['src/test/setup.ts'],
    restoreMocks: true,
    unstubGlobals: true,
  },
}));
