/**
 * Whether bistable puts tfjs's active backend back after its work (see global-backend.ts). Kept
 * apart from that module so that importing the package, which exports this, loads no tfjs.
 */
let restoreGlobal = true;

/**
 * Whether bistable puts the user's active tfjs backend back after each call (the default: true).
 * Pass false to leave bistable's tfjs backend active, as versions before 0.2 did; that saves two
 * backend switches per call when the user's own tfjs code runs on another tfjs backend.
 */
export function restoreTfjsBackend(on: boolean): void {
  if (typeof on !== 'boolean')
    throw new TypeError(`restoreTfjsBackend takes true or false, got ${String(on)}`);
  restoreGlobal = on;
}

export const restoresTfjsBackend = (): boolean => restoreGlobal;
