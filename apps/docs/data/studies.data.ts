import { fileURLToPath } from 'node:url';
import {
  loadPublishedStudies,
  type Projection,
  type PublishedStudy,
  projectPaperPreset,
} from './published-studies.js';

/** The published studies and the paper preset's projected time, read when the site is built. */
export interface StudiesData {
  studies: PublishedStudy[];
  projections: Projection[];
}

declare const data: StudiesData;

export { data };

export default {
  watch: ['./studies/**/*.json'],
  load(): StudiesData {
    const root = fileURLToPath(new URL('..', import.meta.url));
    const studies = loadPublishedStudies(root);
    const projections = (['copy-first-input', 'binary-addition'] as const)
      .map((task) => projectPaperPreset(studies, task))
      .filter((p): p is Projection => p !== null);
    return { studies, projections };
  },
};
