import type { Command } from 'commander';
import { plotResults } from '../figures/plot-dir.js';

export function registerPlotCommand(program: Command): void {
  program
    .command('plot')
    .description("draw the figures of a results folder (SVG and PNG), as brc_pytorch's published ones")
    .argument('<dir>', 'a folder written by `bistable reproduce` or `bistable train`')
    .option('--json', 'print the files written as JSON')
    .action(async (dir: string, o: { json?: boolean }) => {
      const files = await plotResults(dir);
      if (o.json) console.log(JSON.stringify({ figures: files }, null, 2));
      else for (const f of files) console.log(f);
    });
}
