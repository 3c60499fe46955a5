// typedoc names a package's "." export with an empty string; the reference reads better when the
// main entry is called by what users import it as, without its own nested folder.
import { Converter, ReflectionKind } from 'typedoc';

/** @param {import('typedoc').Application} app */
export function load(app) {
  app.converter.on(Converter.EVENT_RESOLVE_BEGIN, (context) => {
    for (const mod of context.project.getChildrenByKind(ReflectionKind.Module)) {
      if (mod.name === '') mod.name = 'main';
    }
  });
}
