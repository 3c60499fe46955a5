import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkExamples, extractExamples } from '../scripts/check-examples.mjs';

const root = fileURLToPath(new URL('../../..', import.meta.url));

/** The public entry points that must show how they are used. */
const REQUIRED: Array<[file: string, symbol: string]> = [
  ['packages/core/src/backend/registry.ts', 'getBackend'],
  ['packages/core/src/models/sequence-model.ts', 'SequenceModel'],
  ['packages/core/src/runner/multilayer-rnn.ts', 'MultiLayerRNN'],
  ['packages/core/src/runner/cell.ts', 'Cell'],
  ['packages/core/src/optim/adam.ts', 'Adam'],
  ['packages/core/src/training/fit.ts', 'fit'],
  ['packages/core/src/checkpoint/file.ts', 'saveCheckpoint'],
  ['packages/core/src/checkpoint/file.ts', 'loadCheckpoint'],
  ['packages/tasks/src/data/copy-first-input.ts', 'CopyFirstInput'],
  ['packages/tasks/src/protocols/copy-first-input.ts', 'runCopyFirstInput'],
  ['packages/backend-tfjs/src/layers/rnn-layers.ts', 'bistableLayers'],
  ['packages/backend-tfjs/src/registration.ts', 'registerTfjsBackends'],
  ['packages/backend-gpujs/src/register.ts', 'registerGpujsBackends'],
];

describe("the API reference's @example blocks", () => {
  // the examples import the packages as users do: their built declarations
  const unbuilt = ['core', 'tasks', 'backend-tfjs', 'backend-gpujs'].filter(
    (p) => !existsSync(join(root, 'packages', p, 'dist', 'index.d.ts')),
  );
  if (unbuilt.length > 0) {
    throw new Error(`build the packages first (pnpm build): no dist/index.d.ts in ${unbuilt.join(', ')}`);
  }
  // one strict type-check of every example against the packages' built declarations
  const { examples, errors } = checkExamples();

  it('type-check (errors name the source file and line of the example)', () => {
    console.log(`${examples.length} @example blocks in ${new Set(examples.map((e) => e.file)).size} files`);
    expect(errors).toEqual([]);
  });

  it('cover the main entry points of every package', () => {
    const have = new Set(examples.map((e) => `${relative(root, e.file)} ${e.symbol}`));
    const missing = REQUIRED.filter(([f, s]) => !have.has(`${f} ${s}`)).map(([f, s]) => `${s} (${f})`);
    expect(missing).toEqual([]);
  });

  it('reports an error at the line of the example that has it', () => {
    const text = [
      '/**',
      ' * Doubles.',
      ' *',
      ' * @example',
      ' * ```ts',
      " * const n: number = 'two';",
      ' * ```',
      ' */',
      'export function double(n: number): number {',
      '  return 2 * n;',
      '}',
    ].join('\n');
    const [ex] = extractExamples('/virtual/double.ts', text);
    expect(ex).toMatchObject({ symbol: 'double', code: ["const n: number = 'two';"], lines: [6] });
    const dir = mkdtempSync(join(tmpdir(), 'bistable-example-'));
    try {
      writeFileSync(join(dir, 'double.ts'), text);
      const { errors } = checkExamples({ files: [join(dir, 'double.ts')] });
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatch(
        /double\.ts:6:10 \(@example of double\): TS2322 Type 'string' is not assignable/,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
