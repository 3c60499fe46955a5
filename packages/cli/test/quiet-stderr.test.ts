import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../dist/bin.js', import.meta.url));

/** The CLI on a machine without a GPU: no Vulkan driver named, so WebGPU finds no adapter. */
function withoutGpu(...args: string[]) {
  const env = { ...process.env };
  delete env.VK_ICD_FILENAMES;
  delete env.VK_DRIVER_FILES;
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: 'utf8', timeout: 120_000, env });
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

describe('a successful command without a GPU prints nothing on stderr', () => {
  it('bistable backends: the WebGPU backends are probed quietly and say why they cannot run', () => {
    const r = withoutGpu('backends', '--json');
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const reports = JSON.parse(r.stdout) as { name: string; available: boolean; reason?: string }[];
    for (const name of ['tfjs-webgpu', 'gpujs-webgpu']) {
      const w = reports.find((b) => b.name === name);
      if (!w || w.available) continue;
      // the reason is Dawn's own (no Vulkan, or none usable), not a generic one
      expect(w.reason, name).toMatch(/adapter/);
      expect(w.reason, name).not.toMatch(/third_party\/dawn|BackendVk\.cpp/);
    }
  });

  it('bistable backends (table) and verify --backend auto', () => {
    const table = withoutGpu('backends');
    expect(table.code).toBe(0);
    expect(table.stderr).toBe('');
    const verify = withoutGpu('verify', '--backend', 'auto', '--dtype', 'float32');
    expect(verify.code, verify.stdout).toBe(0);
    expect(verify.stderr).toBe('');
  });
});
