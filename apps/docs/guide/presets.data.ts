import { PRESETS, preset, TASKS } from '@bistable/tasks';

/** Every setting of every preset, read from @bistable/tasks when the site is built. */
export interface PresetTable {
  task: string;
  presets: string[];
  rows: { setting: string; values: string[] }[];
}

declare const data: PresetTable[];

export { data };

const show = (v: unknown) => (Array.isArray(v) ? v.join(', ') : String(v));

export default {
  load(): PresetTable[] {
    return TASKS.map((task) => {
      const studies = PRESETS.map((p) => preset(task, p) as unknown as Record<string, unknown>);
      const settings = Object.keys(studies[0]).filter((k) => k !== 'task');
      return {
        task,
        presets: [...PRESETS],
        rows: settings.map((setting) => ({ setting, values: studies.map((s) => show(s[setting])) })),
      };
    });
  },
};
