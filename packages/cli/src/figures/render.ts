import { join } from 'node:path';
import { writeFileAtomic } from '@bistable/core';
import { parse, View } from 'vega';
import { compile, type TopLevelSpec } from 'vega-lite';

/** A vega-lite spec rendered to SVG by vega, and to PNG (twice the size) by resvg. */
export async function renderFigure(spec: TopLevelSpec): Promise<{ svg: string; png: Uint8Array }> {
  const view = new View(parse(compile(spec).spec), { renderer: 'none' });
  try {
    const svg = await view.toSVG();
    // loaded on first use: a native addon, so bundles for other machines can leave it out
    const { Resvg } = await import('@resvg/resvg-js');
    const png = new Resvg(svg, {
      fitTo: { mode: 'zoom', value: 2 },
      background: 'white',
      // vega writes font-family "sans-serif"; resvg needs a concrete font for it
      font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans' },
    })
      .render()
      .asPng();
    return { svg, png };
  } finally {
    view.finalize();
  }
}

/** Writes `<name>.svg` and `<name>.png` into `dir`; returns both paths. */
export async function writeFigure(dir: string, name: string, spec: TopLevelSpec): Promise<string[]> {
  const { svg, png } = await renderFigure(spec);
  const files = [join(dir, `${name}.svg`), join(dir, `${name}.png`)];
  await writeFileAtomic(files[0], svg);
  await writeFileAtomic(files[1], png);
  return files;
}
