/**
 * Splits a kernel's outputs over as few dispatches as keep each within `limit` storage bindings,
 * every dispatch binding all `inputs` and its share of the outputs (each recomputes the cell's
 * body; the compiler drops what its stores do not need). A cell reads at most seven inputs, and
 * WebGPU guarantees eight bindings, so every group holds at least one output.
 */
export function outputGroups<T>(inputs: number, outputs: readonly T[], limit: number): T[][] {
  const room = Math.max(1, limit - inputs);
  const groups: T[][] = [];
  for (let i = 0; i < outputs.length; i += room) groups.push(outputs.slice(i, i + room));
  return groups;
}
