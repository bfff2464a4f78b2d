import { h } from '../dom.js';
import { foldedText, previewOf } from './foldedText.js';
import { rolloutHref } from '../router.js';
import { type ModuleView, moduleText } from '../program.js';
import type { CandidateView } from '../types.js';

/**
 * One candidate's program, module by module in call order, with the module it changed marked by a
 * label and a border (not by colour alone), and a module an ancestor changed (its text differs from
 * the baseline's, kept from the parent) labelled too, so no edited text reads as the baseline.
 * Used in leaderboard rows and in the program panel.
 */
export function programList(c: CandidateView, modules: readonly ModuleView[]): HTMLOListElement {
  return h('ol', { class: 'program', 'aria-label': `Program of ${c.candidate_id}` },
    ...modules.map((m) => {
      const changed = c.changed_modules.includes(m.name);
      const text = moduleText(c, m);
      const inherited = !changed && text !== m.template;
      return h('li', { class: changed ? 'program-module is-changed' : inherited ? 'program-module is-inherited' : 'program-module', 'data-module': m.name },
        h('p', { class: 'module-head' },
          h('code', { class: 'module-name' }, m.name),
          changed ? h('span', { class: 'tag tag-changed' }, 'changed here') : null,
          inherited ? h('span', { class: 'tag tag-inherited', title: 'Differs from the baseline: changed by an ancestor and kept from the parent' }, 'changed earlier') : null,
          m.origin === 'discovered' ? h('span', { class: 'tag' }, 'discovered') : null),
        changed ? instructionText(text) : foldedInstruction(text, c.candidate_id, m.name));
    }));
}

/**
 * Module texts the user opened, by candidate and module: polling rebuilds the program panel and the
 * leaderboard rows with every reward, which folded them again under the reader.
 */
const openTexts = new Set<string>();

/** The modules of a candidate whose text the user opened (its rows are drawn again when they change). */
export function openedModules(candidateId: string): string[] {
  return Array.from(openTexts).filter((k) => k.startsWith(`${candidateId}\u0000`)).sort();
}

/**
 * A module text the candidate did not change, folded to its first lines when long: 16 modules of
 * 2-6 KB made the program panel 12,000 px tall, the candidates below it, and buried the changed
 * module (which stays whole) among texts the user wrote.
 */
function foldedInstruction(text: string, candidateId: string, module: string): HTMLElement {
  const short = text === '' ? null : previewOf(text);
  if (short === null) return instructionText(text);
  const key = `${candidateId}\u0000${module}`;
  const folded = foldedText(text, `module ${module}`, {
    open: openTexts.has(key),
    onToggle: (open) => (open ? openTexts.add(key) : openTexts.delete(key)),
  });
  folded.classList.add('instruction-folded');
  return folded;
}

/**
 * An instruction as a paragraph. An empty one (a module whose template is "": the stage that sends no
 * system message) says so instead of leaving an empty box.
 */
export function instructionText(text: string): HTMLParagraphElement {
  // dir=auto: a right-to-left instruction (Arabic, Hebrew) is laid out in its own direction.
  return h('p', { class: 'instruction-text', dir: 'auto' }, text === '' ? h('span', { class: 'muted' }, '(empty: no system message)') : text);
}

/** The chip naming the module a candidate or proposal changed (`label` defaults to the name). */
export function moduleChip(module: string, label = module): HTMLElement {
  return h('span', { class: 'tag tag-module', 'data-changed-module': module, title: `Changes module ${module}` }, label);
}

/**
 * A candidate's demos, module by module: the user/assistant turns the proxy injects right after the
 * system text (and export renders), each linking to the rollout of job `jobId` it came from. Null
 * when the candidate has none.
 */
export function demoList(c: CandidateView, jobId: string): HTMLElement | null {
  const modules = Object.entries(c.demos ?? {}).filter(([, list]) => list.length > 0);
  if (modules.length === 0) return null;
  return h('div', { class: 'demos', 'aria-label': `Demos of ${c.candidate_id}` },
    ...modules.map(([name, list]) => h('section', { class: 'demo-module', 'data-demos-module': name },
      h('p', { class: 'module-head' },
        h('span', { class: 'tag tag-demos' }, `${list.length} demo${list.length === 1 ? '' : 's'}`), ' for module ',
        h('code', { class: 'module-name' }, name)),
      h('ol', { class: 'demo-list' }, ...list.map((d) => h('li', { class: 'demo', 'data-rollout': d.rollout_id },
        // A templated module's demo is shown to the model with its own call's values: shown here too.
        ...Object.entries(d.variables ?? {}).map(([name, value]) => h('p', { class: 'demo-turn demo-variable', 'data-variable': name }, h('span', { class: 'demo-role' }, `{${name}}: `), value)),
        ...d.input.map((t) => h('p', { class: 'demo-turn' }, h('span', { class: 'demo-role' }, `${t.role}: `), t.content)),
        h('p', { class: 'demo-turn demo-output' }, h('span', { class: 'demo-role' }, 'assistant: '), d.output),
        demoSource(jobId, d.rollout_id)))))));
}

/** An imported demo's id is a hash of its content (`import:...`, warmStart.ts): no rollout to open. */
function demoSource(jobId: string, rolloutId: string): HTMLElement {
  if (rolloutId.startsWith('import:')) return h('p', { class: 'muted demo-source' }, 'imported (from no rollout of this job)');
  return h('p', { class: 'muted demo-source' }, 'from rollout ', h('a', { href: rolloutHref(jobId, rolloutId) }, rolloutId));
}

/** How many demos a candidate injects in all (the leaderboard's chip). */
export function demoCount(c: CandidateView): number {
  return Object.values(c.demos ?? {}).reduce((n, list) => n + list.length, 0);
}
