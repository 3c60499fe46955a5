// Splits each package's API into pages a reader can use: one per topic (core's Models, Training,
// Backends, …), each with a title, a one-line description in its package's index, and an index of
// its own symbols with their one-line summaries.
//
// A symbol lands on the first page of its package whose `from` names its source file (a path
// under the package's src/, a folder when it ends in '/'), or on the page its `@category` tag
// names. `module` instead takes a whole entry point of the package (`testing` is
// `@bistable/core/testing`, '' the package's main entry). A symbol no page takes lands on a page
// "Other", with a warning.
import { relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Comment, Converter, DeclarationReflection, ReflectionKind, RendererEvent } from 'typedoc';
import { MarkdownPageEvent, ModuleRouter } from 'typedoc-plugin-markdown';

/**
 * @typedef {{ title: string, description: string, from?: string[], module?: string }} ApiPage
 * @type {Record<string, ApiPage[]>}
 */
export const API_PAGES = {
  '@bistable/core': [
    {
      title: 'Models',
      from: ['models/'],
      description:
        '`SequenceModel` — recurrent layers, a readout and a loss, trained a step at a time — `Linear`, and memory estimates.',
    },
    {
      title: 'Training',
      from: ['training/'],
      description:
        '`fit`: shuffled epochs, validation, learning-rate schedules, gradient clipping, callbacks and exact resumption.',
    },
    {
      title: 'Optimizers and losses',
      from: ['optim/', 'loss/'],
      description: '`Adam` and `SGD` over any model’s parameters, and the MSE and BCE losses.',
    },
    {
      title: 'Checkpoints',
      from: ['checkpoint/'],
      description:
        'Saving and restoring a model with its optimiser and progress, as safetensors-compatible files.',
    },
    {
      title: 'Runner',
      from: ['runner/'],
      description:
        'The layers under a model: one `Cell` stepped by hand, `MultiLayerRNN` with backpropagation through time, and their parts.',
    },
    {
      title: 'Cells',
      from: ['cells/'],
      description:
        'Cells as recipes: `defineCell` and `registerCell` for your own, the four built-in cells (BRC, nBRC, GRU, LSTM), their parameters and the programs backends render.',
    },
    {
      title: 'Backends',
      from: [
        'backend/registry.ts',
        'backend/catalog.ts',
        'backend/errors.ts',
        'backend/webgpu-probe.ts',
        'cpu/',
        'reference/',
        'node-module.ts',
      ],
      description:
        '`getBackend`, the registry that backend packages add themselves to, core’s `cpu` and `reference` backends, and the errors the API throws.',
    },
    {
      title: 'Backend interface',
      from: ['backend/types.ts', 'backend/cell-kernels.ts'],
      description:
        'What a backend implements: storage and a GEMM (level 1), fused step kernels (2) and whole-sequence kernels (3) per cell.',
    },
    {
      title: 'Tensors and parameters',
      from: ['params/', 'init/'],
      description:
        'What the API takes and returns (host arrays or, with an adapter, tf.Tensors), named parameters, seeds and initialisers.',
    },
    {
      title: 'Benchmarks',
      from: ['bench/'],
      description: 'Timing training steps on a backend, as `bistable bench` does.',
    },
    {
      title: 'Testing',
      module: 'testing',
      description:
        '`@bistable/core/testing`: the conformance kits that check a backend against the PyTorch reference vectors and, kernel by kernel, against core’s own cells.',
    },
  ],
  '@bistable/tasks': [
    {
      title: 'Datasets and metrics',
      from: ['data/', 'metrics.ts'],
      description:
        'The two tasks’ seeded, on-the-fly datasets (`CopyFirstInput`, `BinaryAddition`) and the metrics that score them.',
    },
    {
      title: 'Protocols',
      from: ['protocols/', 'checkpoints.ts', 'checks.ts'],
      description:
        '`runCopyFirstInput` and `runBinaryAddition`: the studies’ resumable training protocols, with their hooks and checkpointers.',
    },
    {
      title: 'Studies and presets',
      from: ['study.ts', 'presets.ts', 'published.ts', 'stats.ts', '@bistable/core'],
      description:
        'The paper and quick presets, the runs a study plans, the published numbers they are compared with, and the statistics.',
    },
  ],
  '@bistable/backend-tfjs': [
    {
      title: 'Backends',
      module: '',
      description:
        '`@bistable/backend-tfjs`: importing it registers the TensorFlow.js backends (tfjs-cpu, -wasm, -webgl, -webgpu, -node, -node-gpu) and lets the API take tf.Tensors.',
    },
    {
      title: 'Layers',
      module: 'layers',
      description:
        '`@bistable/backend-tfjs/layers`: BRC and nBRC as tfjs-layers layers and cells (`bistableLayers`).',
    },
    {
      title: 'Layers on Node',
      module: 'node',
      description: '`@bistable/backend-tfjs/node`: saving and loading tfjs-layers models with files on Node.',
    },
  ],
};

/** Where a symbol no page takes goes (with a warning). */
const OTHER = { title: 'Other', description: 'Symbols not yet sorted onto a page.' };

/** The URL segment of a page: its title in lower case, words joined by hyphens. */
const slug = (title) =>
  title
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-|-$/g, '');

/**
 * typedoc-plugin-markdown's module router, with two changes:
 * - topic pages are named by their slug (…/core/optimizers-and-losses), titled by their name;
 * - a symbol's anchor names its kind (`#class-sequencemodel`, `#interface-sequencemodeloptions`,
 *   `#method-predict`), and every symbol's heading carries its anchor (`useCustomAnchors`).
 *
 * The stock anchors are a symbol's bare name, slugged to what VitePress would make of its heading
 * on the guess that no other heading comes first with the same text; but the pages are full of
 * headings of their own (each parameter's name, "Parameters", "Returns", the page's title), and
 * `SequenceModel.options` took `sequencemodeloptions` before the interface `SequenceModelOptions`
 * could: links landed on the wrong heading or on none. VitePress's own ids are slugs of a
 * heading's words, so an anchor led by a kind and a hyphen matches none of them, and the anchors
 * are already what typedoc-vitepress-theme's link rewriting (its slugifyAnchor) leaves alone.
 */
class ApiPagesRouter extends ModuleRouter {
  /** the reflection buildAnchors is slugging */
  #current;

  getReflectionAlias(reflection) {
    if (reflection.kindOf(ReflectionKind.Module) && reflection.parent?.kindOf(ReflectionKind.Module)) {
      return slug(reflection.name) || 'main';
    }
    return super.getReflectionAlias(reflection);
  }

  buildAnchors(target, pageTarget) {
    const outer = this.#current;
    this.#current = target;
    try {
      super.buildAnchors(target, pageTarget);
    } finally {
      this.#current = outer;
    }
  }

  getSlugger(target) {
    const slugger = super.getSlugger(target);
    if (!slugger[PATCHED]) {
      slugger[PATCHED] = true;
      slugger.serialize = (value) => {
        const kind = this.#current ? kindWord(this.#current) : '';
        // a constructor's name is "Constructor" already
        const words = kind && kind !== value.toLowerCase() ? `${kind} ${value}` : value;
        return slugifyAnchor(words.replace(/\./g, ' ')) || '_';
      };
    }
    return slugger;
  }
}
const PATCHED = Symbol('vitepress slugs');

/** `class`, `interface`, `type`, `function`, `variable`, `property`, `method`, … */
function kindWord(reflection) {
  if (reflection.kindOf(ReflectionKind.TypeAlias)) return 'type';
  return ReflectionKind.singularString(reflection.kind).toLowerCase();
}

/** typedoc-vitepress-theme's slugifyAnchor (utils/utils.js, not exported), which its links go through. */
function slugifyAnchor(str) {
  return (
    str
      .normalize('NFKD')
      .replace(/[\u0300-\u036F]/g, '')
      // biome-ignore lint/suspicious/noControlCharactersInRegex: removing control characters is the point
      .replace(/[\u0000-\u001f]/g, '')
      .replace(/[\s~`!@#$%^&*()\-_+=[\]{}|\\;:"'“”‘’<>,.?/]+/g, '-')
      .replace(/-{2,}/g, '-')
      .replace(/^-+|-+$/g, '')
      .replace(/^(\d)/, '_$1')
      .toLowerCase()
  );
}

/** The first sentence of a summary, on one line, at most about 150 characters. */
function oneLine(parts) {
  // inline tags ({@link X}) by their text; the table cell is no place for links of its own
  const text = parts.map((p) => (p.kind === 'inline-tag' ? `\`${p.text}\`` : p.text)).join('');
  const para = text
    .trim()
    .split(/\n\s*\n/)[0]
    .replace(/\s+/g, ' ');
  const m = para.match(/^(.+?[.!?])(\s+(?=[A-Z`(*_[])|$)/);
  let line = m ? m[1] : para;
  if (line.length > 160) {
    let cut = line.slice(0, 150).replace(/\s+\S*$/, '');
    // never leave a code span open
    if ((cut.match(/`/g) ?? []).length % 2 === 1) cut = cut.slice(0, cut.lastIndexOf('`')).trimEnd();
    line = `${cut.replace(/[\s,;:(—–-]+$/, '')} …`;
  }
  return line.replace(/\|/g, '\\|');
}

/** @param {import('typedoc').Application} app */
export function load(app) {
  app.renderer.defineRouter('api-pages', ApiPagesRouter);

  /** each top-level declaration's source file, relative to its package's src/ */
  const sourceOf = new WeakMap();
  app.converter.on(Converter.EVENT_CREATE_DECLARATION, (context, reflection) => {
    const decl = context.getSymbolFromReflection(reflection)?.declarations?.[0];
    if (!decl) return;
    sourceOf.set(reflection, decl.getSourceFile().fileName);
  });

  app.converter.on(
    Converter.EVENT_RESOLVE_BEGIN,
    (context) => {
      const project = context.project;
      const pages = API_PAGES[project.packageName ?? project.name];
      // typedoc names a package's "." export with an empty string
      const entryName = (m) => (m.name === '' || m.name === 'main' ? '' : m.name);
      if (!pages) {
        for (const mod of project.getChildrenByKind(ReflectionKind.Module))
          if (mod.name === '') mod.name = 'main';
        return;
      }
      const entries = project.getChildrenByKind(ReflectionKind.Module);
      // a package with one entry point has its symbols straight on the project
      const sources = entries.length > 0 ? entries : [project];
      const made = new Map();
      const pageModule = (page) => {
        let mod = made.get(page);
        if (!mod) {
          mod = new DeclarationReflection(page.title, ReflectionKind.Module, project);
          mod.comment = new Comment([{ kind: 'text', text: page.description }]);
          context.registerReflection(mod, undefined);
          project.addChild(mod);
          made.set(page, mod);
        }
        return mod;
      };
      for (const source of sources) {
        const whole = source !== project && pages.find((p) => p.module === entryName(source));
        if (whole) {
          source.name = whole.title;
          source.comment = new Comment([{ kind: 'text', text: whole.description }]);
          made.set(whole, source);
          continue;
        }
        for (const child of [...(source.children ?? [])]) {
          if (made.has(child) || [...made.values()].includes(child)) continue;
          const tagged = categoryOf(child);
          const file = sourceOf.get(child);
          const rel = file ? sourceName(file, project.name) : undefined;
          const page = tagged
            ? pages.find((p) => p.title === tagged)
            : pages.find((p) => rel !== undefined && (p.from ?? []).some((f) => matches(rel, f)));
          if (!page) {
            app.logger.warn(
              `api-pages: no page of ${project.name} takes ${child.name} (${tagged ? `@category ${tagged}` : (rel ?? 'no source')}), it goes on "${OTHER.title}"; add its file to API_PAGES in typedoc/api-pages.mjs`,
            );
          }
          source.removeChild(child);
          const to = pageModule(page ?? OTHER);
          child.parent = to;
          to.addChild(child);
        }
        if (source !== project) project.removeReflection(source);
      }
      // in the order of API_PAGES, which reads from the most used to the least (with the option
      // sortEntryPoints off, typedoc keeps it)
      const rank = (c) => {
        const i = [...made.entries()].find(([, m]) => m === c)?.[0];
        return i ? (i === OTHER ? pages.length : pages.indexOf(i)) : -1;
      };
      const byPage = (a, b) => rank(a) - rank(b);
      project.children?.sort(byPage);
      project.childrenIncludingDocuments?.sort(byPage);
    },
    -100,
  );

  // a README's relative link to a page of this site (../../apps/docs/guide/x.md, right on GitHub)
  // goes to that page; typedoc would otherwise copy the markdown file into api/_media, where
  // VitePress builds it as a stray page
  app.renderer.on(RendererEvent.BEGIN, (event) => {
    const project = event.project;
    for (const r of Object.values(project.reflections)) {
      const lists = [r.readme, r.comment?.summary, ...(r.comment?.blockTags ?? []).map((t) => t.content)];
      for (const parts of lists) {
        for (const part of parts ?? []) {
          if (part.kind !== 'relative-link' || typeof part.target !== 'number') continue;
          const file = project.files.resolvePath(part.target);
          const page = file && sitePage(file);
          if (!page) continue;
          part.text = `${page}${part.targetAnchor ? `#${part.targetAnchor}` : ''}`;
          part.target = undefined;
          part.targetAnchor = undefined;
        }
      }
    }
  });

  // each topic page opens with an index of its symbols and their one-line summaries (before
  // typedoc-vitepress-theme's handler, which rewrites the links' anchors)
  app.renderer.on(
    MarkdownPageEvent.END,
    (page) => {
      const model = page.model;
      if (!page.contents || !model?.kindOf?.(ReflectionKind.Module)) return;
      const router = app.renderer.router;
      const rows = [];
      // a package's page lists its topic pages already (with a one-package-one-page package,
      // such as the CLI, its symbols are on the package's page, after its README)
      const groups = (model.groups ?? []).filter((g) => !g.children.every((c) => router.hasOwnDocument(c)));
      for (const group of groups) {
        for (const child of group.children) {
          if (!router.hasUrl(child)) continue;
          const comment = child.comment ?? child.signatures?.[0]?.comment;
          const summary = comment ? oneLine(comment.summary) : '';
          // the page's headings group by kind; here a function's name says so by its parentheses
          const name = child.kindOf(ReflectionKind.Function) ? `${child.name}()` : child.name;
          rows.push(`| [\`${name}\`](#${router.getAnchor(child)}) | ${summary || '—'} |`);
        }
      }
      if (rows.length === 0) return;
      const table = ['| Symbol | What it is |', '| --- | --- |', ...rows].join('\n');
      // before the first group's heading (## Classes, …): a README's own sections come first
      const at = page.contents.search(new RegExp(`^## ${groups[0].title}$`, 'm'));
      page.contents =
        at < 0
          ? `${page.contents}\n\n${table}\n`
          : `${page.contents.slice(0, at)}${table}\n\n${page.contents.slice(at)}`;
    },
    100,
  );
}

const DOCS_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The site's URL of a markdown file of this site ('/guide/cells'), or undefined for any other file. */
function sitePage(file) {
  const rel = relative(DOCS_ROOT, file).split(sep).join('/');
  if (rel.startsWith('..') || !rel.endsWith('.md') || rel.startsWith('api/')) return undefined;
  return `/${rel.slice(0, -'.md'.length).replace(/(^|\/)index$/, '$1')}`;
}

/** The page a `@category` tag names, taken off the comment so typedoc does not group by it too. */
function categoryOf(reflection) {
  const comments = [reflection.comment, ...(reflection.signatures ?? []).map((s) => s.comment)].filter(
    Boolean,
  );
  let title;
  for (const c of comments) {
    const tag = c.getTag('@category');
    if (tag) title ??= Comment.combineDisplayParts(tag.content).trim();
    c.removeTags('@category');
  }
  return title;
}

/**
 * A file of the package `name` by its path under src/ ('models/linear.ts'); one of another
 * workspace package (a re-export) by that package's name ('@bistable/core').
 */
function sourceName(file, name) {
  const path = file.split(sep).join('/');
  const m = path.match(/\/packages\/([^/]+)\/(?:src|dist)\/(.*)$/);
  if (!m) return path;
  return `@bistable/${m[1]}` === name ? m[2] : `@bistable/${m[1]}`;
}

function matches(rel, from) {
  return from.endsWith('/') ? rel.startsWith(from) : rel === from;
}
