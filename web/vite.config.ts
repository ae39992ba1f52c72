import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vite'

/** The Trash Can page: built into dist/web, which the server serves at / and /trash. */
export default defineConfig({
  root: fileURLToPath(new URL('.', import.meta.url)),
  base: '/',
  publicDir: false,
  logLevel: 'warn',
  build: {
    outDir: fileURLToPath(new URL('../dist/web', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    // no inline assets: the page's Content-Security-Policy allows only files from the server itself
    assetsInlineLimit: 0,
    modulePreload: { polyfill: false },
  },
})
