/** CSV text: a header and rows of numbers or short strings (no quoting needed for what we write). */
export function csv(head: string[], rows: (string | number | null)[][]): string {
  const cell = (v: string | number | null) => (v === null ? '' : typeof v === 'number' ? String(v) : v);
  return `${[head, ...rows].map((r) => r.map(cell).join(',')).join('\n')}\n`;
}
