import { nodeModule } from '../node-module.js';

/**
 * Dawn (the `webgpu` package for Node) prints to the process's own stderr while it looks for a
 * Vulkan device ("Couldn't load Vulkan …" with a path on Dawn's build machine, "XDG_RUNTIME_DIR
 * is invalid …"), below anything JavaScript can filter. So a WebGPU backend first asks a child
 * Node process whether an adapter exists: the child's stderr is captured, and its gist becomes
 * the backend's reason. Only when an adapter exists is Dawn loaded here, with XDG_RUNTIME_DIR
 * set to a private folder where it was not set, which silences the rest.
 */
export interface WebgpuProbe {
  adapter: boolean;
  /** Why there is none: Dawn's own words, first meaningful line, without its source locations. */
  reason: string | null;
}

const CHILD = `
const { create } = await import(process.argv[1]);
const gpu = create([]);
const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' }).catch(() => null);
process.stdout.write(JSON.stringify({ adapter: adapter !== null && adapter !== undefined }));
process.exit(0);
`;

type ChildProcessModule = typeof import('node:child_process');

/** Dawn's first line that says something, e.g. "Couldn't load Vulkan: libvulkan.so.1: …". */
export function dawnReason(stderr: string): string | null {
  const lines = stderr
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l && !l.startsWith('at ') && !/XDG_RUNTIME_DIR/.test(l));
  // a message line over a source line (Node prints the throwing file and a caret first)
  const said = lines.find((l) => /^(Warning|Error|error|\w+Error)\b/.test(l)) ?? lines[0];
  const first = said?.replace(/^(Warning|Error|error):\s*/, '');
  return first ? first.slice(0, 200) : null;
}

/**
 * Whether Dawn finds an adapter here, asked of a child process so its messages stay out of this
 * one's stderr. `moduleUrl` is the `webgpu` package's entry (a file: URL or path).
 */
export async function probeWebgpuQuietly(moduleUrl: string, timeoutMs = 30_000): Promise<WebgpuProbe> {
  const cp = await nodeModule<ChildProcessModule>('node:child_process');
  const url = moduleUrl.startsWith('file:')
    ? moduleUrl
    : (await nodeModule<typeof import('node:url')>('node:url')).pathToFileURL(moduleUrl).href;
  return new Promise((resolve) => {
    cp.execFile(
      process.execPath,
      ['--input-type=module', '-e', CHILD, url],
      { timeout: timeoutMs, maxBuffer: 1 << 20 },
      (err, stdout, stderr) => {
        try {
          const r = JSON.parse(String(stdout).trim()) as { adapter: boolean };
          resolve({ adapter: r.adapter, reason: r.adapter ? null : dawnReason(String(stderr)) });
        } catch {
          const why = dawnReason(String(stderr)) ?? (err ? err.message.split('\n')[0] : 'no answer');
          resolve({ adapter: false, reason: `the WebGPU probe failed: ${why}` });
        }
      },
    );
  });
}

let runtimeDirDone = false;

/**
 * Before Dawn loads in this process: a private XDG_RUNTIME_DIR where none is set (the Vulkan
 * loader's window-system code complains on stderr otherwise). Node only; once.
 */
export async function quietDawnEnvironment(): Promise<void> {
  if (runtimeDirDone || process.env.XDG_RUNTIME_DIR) return;
  runtimeDirDone = true;
  const { mkdtempSync, chmodSync } = await nodeModule<typeof import('node:fs')>('node:fs');
  const { tmpdir } = await nodeModule<typeof import('node:os')>('node:os');
  const { join } = await nodeModule<typeof import('node:path')>('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'bistable-xdg-'));
  chmodSync(dir, 0o700);
  process.env.XDG_RUNTIME_DIR = dir;
}

/** What a GPU adapter says about itself (WebGPU's GPUAdapterInfo, or WebGL's renderer string). */
export interface AdapterDescription {
  vendor?: string;
  architecture?: string;
  device?: string;
  description?: string;
  /** WebGPU's fallback adapter: always a software one. */
  isFallbackAdapter?: boolean;
}

/** Mesa's lavapipe, llvmpipe and softpipe, Google's SwiftShader, Microsoft's WARP. */
const SOFTWARE_RENDERERS = /\b(llvmpipe|lavapipe|softpipe|swiftshader|microsoft basic render|warp)\b/i;

/**
 * The name of a GPU adapter that emulates the GPU on the CPU (lavapipe, SwiftShader, a fallback
 * adapter), or null for a hardware one. A backend on such an adapter sets `softwareDevice`, and
 * `auto` then prefers every backend that runs natively.
 */
export function softwareAdapterName(info: AdapterDescription | null | undefined): string | null {
  if (!info) return null;
  const parts = [info.vendor, info.architecture, info.device, info.description].filter(
    (p): p is string => typeof p === 'string' && p.length > 0,
  );
  const said = parts.join(' ');
  const match = SOFTWARE_RENDERERS.exec(said);
  if (match) return (info.description || info.device || match[1]).trim();
  if (info.isFallbackAdapter) return said || 'a fallback adapter';
  return null;
}
