import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type DefaultTheme, defineConfig } from 'vitepress';

// typedoc writes the API pages and their sidebar before vitepress runs (see the build script);
// `vitepress dev` without it still works, with an empty API section.
const apiSidebarFile = fileURLToPath(new URL('../api/typedoc-sidebar.json', import.meta.url));
const apiSidebar: DefaultTheme.SidebarItem[] = existsSync(apiSidebarFile)
  ? JSON.parse(readFileSync(apiSidebarFile, 'utf8'))
  : [];

const guide: DefaultTheme.SidebarItem[] = [
  {
    text: 'Introduction',
    items: [
      { text: 'What BRC and nBRC are', link: '/guide/cells' },
      { text: 'Installing what you need', link: '/guide/install' },
      { text: 'Choosing a backend', link: '/guide/choosing-backend' },
    ],
  },
  {
    text: 'Using the cells',
    items: [
      { text: 'Step by step: Cell', link: '/guide/cell' },
      { text: 'Multi-layer runner', link: '/guide/multilayer' },
      { text: 'Training a model', link: '/guide/training' },
      { text: 'The training loop: fit', link: '/guide/training-loop' },
      { text: 'tfjs layers (BRC, nBRC)', link: '/guide/tfjs-layers' },
      { text: 'Checkpoints', link: '/guide/checkpoints' },
    ],
  },
  {
    text: 'Command line',
    items: [
      { text: 'The bistable CLI', link: '/guide/cli' },
      { text: 'Reproducing the studies', link: '/guide/reproduce' },
      { text: 'Across machines (job queue)', link: '/guide/queue' },
      { text: 'CLI reference', link: '/guide/cli-reference' },
    ],
  },
  {
    text: 'Extending',
    items: [
      { text: 'Define your own cell', link: '/guide/custom-cells' },
      { text: 'Writing a backend', link: '/guide/new-backend' },
      { text: 'Architecture', link: '/guide/architecture' },
    ],
  },
];

export default defineConfig({
  title: 'bistable',
  description: 'Bistable recurrent cells (BRC, nBRC) with GRU and LSTM for TypeScript, on any backend.',
  cleanUrls: true,
  // two wells and the ridge between them: a bistable cell's two stable states
  head: [['link', { rel: 'icon', type: 'image/svg+xml', href: '/favicon.svg' }]],
  // the package's README is for contributors, not a page of the site; typedoc/ holds the API
  // index's lead paragraph, which typedoc puts on api/index.md
  srcExclude: ['README.md', 'typedoc/**'],
  lastUpdated: false,
  // the generated API pages link each other with relative .md links; all of them exist after typedoc
  ignoreDeadLinks: false,
  markdown: { math: true },
  themeConfig: {
    nav: [
      { text: 'Guide', link: '/guide/cells' },
      { text: 'Live demo', link: '/demo' },
      { text: 'Results', link: '/results' },
      { text: 'API', link: '/api/' },
    ],
    sidebar: {
      '/guide/': guide,
      '/api/': [{ text: 'API reference', link: '/api/', items: apiSidebar }],
    },
    search: { provider: 'local' },
    outline: { level: [2, 3] },
  },
  vite: {
    // the demo imports the workspace packages' built ESM; none of it may be pre-bundled stale
    optimizeDeps: { exclude: ['@bistable/core'] },
    build: {
      chunkSizeWarningLimit: 4096,
      rollupOptions: {
        onwarn(warning, warn) {
          // zod's sources carry comments rollup drops; harmless, and loud
          if (warning.code === 'INVALID_ANNOTATION') return;
          warn(warning);
        },
      },
    },
  },
});
