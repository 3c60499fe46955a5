/** Prints a plain, aligned text table (the last column is left unpadded so long notes wrap). */
export function printTable(head: string[], rows: string[][], write: (s: string) => void = console.log): void {
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  write(line(head));
  write(line(widths.map((w) => '-'.repeat(w))));
  for (const r of rows) write(line(r));
}
