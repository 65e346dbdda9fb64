/// <reference types="vitest/config" />
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';
import { VitePWA } from 'vite-plugin-pwa';

/** Paths the service worker must never answer with the app shell. */
const NOT_THE_SHELL = [/^\/api(\/|$)/, /^\/dicom-web(\/|$)/, /^\/sync(\/|$)/, /^\/health(\/|$)/, /^\/metrics(\/|$)/];

export default defineConfig({
  plugins: [
    react(),
    VitePWA({
      // We register with workbox-window ourselves (src/pwa/register.ts) to show the update prompt.
      injectRegister: false,
      registerType: 'prompt',
      includeAssets: ['icons/apple-touch-icon.png', 'favicon.svg'],
      manifest: {
        id: '/',
        name: 'PACS Reading Room',
        short_name: 'PACS',
        description: 'Radiology worklist, viewer and reporting, offline-capable',
        start_url: '/',
        scope: '/',
        display: 'standalone',
        orientation: 'any',
        background_color: '#0f1419',
        theme_color: '#0f1419',
        categories: ['medical', 'productivity'],
        icons: [
          { src: '/icons/icon-192.png', sizes: '192x192', type: 'image/png', purpose: 'any' },
          { src: '/icons/icon-512.png', sizes: '512x512', type: 'image/png', purpose: 'any' },
          { src: '/icons/maskable-192.png', sizes: '192x192', type: 'image/png', purpose: 'maskable' },
          { src: '/icons/maskable-512.png', sizes: '512x512', type: 'image/png', purpose: 'maskable' },
        ],
      },
      workbox: {
        globPatterns: ['**/*.{js,css,html,svg,png,webmanifest,woff2,wasm}'],
        // The viewer chunk is several MB; precache it too.
        maximumFileSizeToCacheInBytes: 16 * 1024 * 1024,
        navigateFallback: '/index.html',
        navigateFallbackDenylist: NOT_THE_SHELL,
        cleanupOutdatedCaches: true,
        // First install controls the open page at once; later versions wait for the user (prompt).
        clientsClaim: true,
        skipWaiting: false,
        // No runtime caching: API answers are never cached by the service worker (IndexedDB holds data).
        runtimeCaching: [],
      },
    }),
  ],
  build: {
    target: 'es2022',
    sourcemap: false,
    rollupOptions: {
      // @pacs/shared's schema modules build TypeBox objects at load time; the web app uses only
      // its plain functions and constants, so let the bundler drop what is unused.
      treeshake: { moduleSideEffects: (id: string) => !/[\\/]shared[\\/]src[\\/]/.test(id) && !/[\\/]typebox[\\/]/.test(id) },
    },
  },
  // Dev server only: pre-bundle the image loader's codec glue, or the decode worker hangs silently
  // (ARCHITECTURE.md, decisions). `vite build` needs nothing special.
  optimizeDeps: {
    include: [
      'dicom-parser',
      '@cornerstonejs/dicom-image-loader > @cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs',
      '@cornerstonejs/dicom-image-loader > @cornerstonejs/codec-charls/decodewasmjs',
      '@cornerstonejs/dicom-image-loader > @cornerstonejs/codec-openjpeg/decodewasmjs',
      '@cornerstonejs/dicom-image-loader > @cornerstonejs/codec-openjph/wasmjs',
      '@cornerstonejs/dicom-image-loader > pako',
    ],
  },
  worker: { format: 'es' },
  server: {
    proxy: {
      '/api': 'http://127.0.0.1:3000',
      '/health': 'http://127.0.0.1:3000',
      '/dicom-web': 'http://127.0.0.1:3000',
    },
  },
  test: {
    environment: 'happy-dom',
    include: ['src/**/*.test.{ts,tsx}'],
    setupFiles: ['src/test/setup.ts'],
  },
});
