import { h } from '../dom.js';
import { type ModuleView, moduleText } from '../program.js';
import type { CandidateView } from '../types.js';

/**
 * One candidate's program, module by module in call order, with the module it changed marked by a
 * label and a border (not by colour alone). Used in leaderboard rows and in the program panel.
 */
export function programList(c: CandidateView, modules: readonly ModuleView[]): HTMLOListElement {
  return h('ol', { class: 'program', 'aria-label': `Program of ${c.candidate_id}` },
    ...modules.map((m) => {
      const changed = c.module === m.name;
      return h('li', { class: changed ? 'program-module is-changed' : 'program-module', 'data-module': m.name },
        h('p', { class: 'module-head' },
          h('code', { class: 'module-name' }, m.name),
          changed ? h('span', { class: 'tag tag-changed' }, 'changed here') : null,
          m.origin === 'discovered' ? h('span', { class: 'tag' }, 'discovered') : null),
        h('p', { class: 'instruction-text' }, moduleText(c, m)));
    }));
}

/** The chip naming the module a candidate or proposal changed (`label` defaults to the name). */
export function moduleChip(module: string, label = module): HTMLElement {
  return h('span', { class: 'tag tag-module', 'data-changed-module': module, title: `Changes module ${module}` }, label);
}
