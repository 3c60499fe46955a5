import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const script = fileURLToPath(new URL('../scripts/build-cpu-wasm.mjs', import.meta.url));

describe('the committed cpu WebAssembly module', () => {
  it('is what scripts/build-cpu-wasm.mjs builds from assembly/cpu with the pinned compiler', {
    timeout: 120_000,
  }, () => {
    // throws (exit 1) when src/cpu/wasm/binary.ts differs from a fresh build
    const out = execFileSync(process.execPath, [script, '--check'], { encoding: 'utf8' });
    expect(out).toMatch(/up to date/);
  });
});
