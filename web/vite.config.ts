// Builds the trace viewer page into dist/view/daxref-view.{js,css}; `daxref
// report` inlines both into one HTML file (src/view/report.ts).
import { defineConfig } from 'vite';
import { fileURLToPath } from 'node:url';

const here = (p: string) => fileURLToPath(new URL(p, import.meta.url));

export default defineConfig({
  root: here('.'),
  logLevel: 'warn',
  build: {
    outDir: here('../dist/view'),
    emptyOutDir: true,
    target: 'es2022',
    cssCodeSplit: false,
    lib: { entry: here('main.ts'), formats: ['iife'], name: 'daxrefView', fileName: () => 'daxref-view.js', cssFileName: 'daxref-view' },
  },
});
