import { createHash } from 'node:crypto';
import type { Logger } from '../../shared/logger.js';
import { JobGoneError } from '../../shared/errors.js';
import type { Store } from '../../store/types.js';
import { assignModule, compileModules, MAX_TEMPLATE_CHARS, type CallIdentity, type ModuleAssignment } from '../core/modules.js';
import { nearMiss } from '../core/templateHint.js';
import { headOf } from '../core/text.js';
import type { JobRuntime } from './jobRuntime.js';

/** Distinct unmatched texts remembered per job on this instance (the database dedupes across instances). */
const MAX_UNMATCHED_REMEMBERED = 1000;
/** Unmatched texts up to this length are remembered as themselves, longer ones by their SHA-256. */
const MAX_TEXT_KEY = 4096;

/**
 * Decides which module of the job's program a call belongs to (core/modules.ts) and carries out
 * what that needs: discovery writes the new module (once across instances), an unmatched text is
 * reported once per job as `mipro.module.unmatched`.
 */
export class ModuleRouter {
  constructor(private readonly deps: { store: Store; log: Logger }) {}

  /**
   * The assignment, synchronously unless a module must be discovered (written to the store first):
   * every call of a job whose modules are known is routed without a promise.
   */
  resolve(rt: JobRuntime, call: CallIdentity): ModuleAssignment | Promise<ModuleAssignment> {
    const first = assignModule(rt.modules, call, { canDiscover: canDiscover(rt) });
    if (first.kind !== 'discover') return first;
    return this.discover(rt, call, first);
  }

  /**
   * The assignment among the modules the job has, discovering none: a Messages call of several
   * system blocks tries its joined text so, and discovers from its first block (proxy/programRouting.ts).
   */
  match(rt: JobRuntime, call: CallIdentity): ModuleAssignment {
    return assignModule(rt.modules, call, { canDiscover: false });
  }

  private async discover(rt: JobRuntime, call: CallIdentity, first: Extract<ModuleAssignment, { kind: 'discover' }>): Promise<ModuleAssignment> {
    const modules = await this.deps.store.discoverModule(rt.job.id, {
      name: first.name, template: first.template, max: rt.job.config.mipro.max_modules,
    });
    rt.modules = compileModules(modules);
    // Discovered here or by a concurrent call: either way the module is there now, unless the cap
    // was reached in between, and then the call passes through like any other unmatched one.
    return assignModule(rt.modules, call, { canDiscover: false });
  }

  /**
   * Reports an unmatched system text once per job; never delays the call, never rejects (a failed
   * report is logged). `named`: the module the call named (header or `mipro.module`), if any.
   */
  noteUnmatched(rt: JobRuntime, systemText: string | null, named: string | null = null): Promise<void> {
    const text = systemText ?? '';
    // Remembered by the text itself when short (no hashing on every call of an app's unmatched prompt).
    const key = text.length <= MAX_TEXT_KEY ? text : null;
    if (key !== null && rt.unmatchedSeen.has(key)) return Promise.resolve();
    const hash = createHash('sha256').update(text).digest('hex');
    if (rt.unmatchedSeen.has(hash)) return Promise.resolve();
    const remembered = key ?? hash;
    if (rt.unmatchedSeen.size < MAX_UNMATCHED_REMEMBERED) rt.unmatchedSeen.add(remembered);
    const { full, why } = discoveryMiss(rt, text, named);
    const declared = discoversModules(rt) ? null : rt.modules.filter((m) => m.origin !== 'discovered');
    // Built only when the store writes the event (the job's first texts): past its cap, a new text is
    // only counted, and nearMiss scans every template, the costliest part of an unmatched call.
    const event = () => {
      // A declared template the text nearly follows: say which and where it leaves it (a drifted prompt).
      const near = declared === null ? null : nearMiss(declared, text);
      const closest = near && `; closest module: ${near.module} (${near.reason})`;
      return {
        eventType: 'mipro.module.unmatched' as const,
        message: `a call's system text matched no module and was passed through unchanged (${text.length} characters)${why}${closest ?? ''}`,
        data: {
          text_sha256: hash, length: text.length, preview: headOf(text, 200), reason: full ? 'max_modules' : 'no_match',
          closest: near && { module: near.module, reason: near.reason },
        },
      };
    };
    // Not written (the database unavailable for a moment): forgotten, so the text's next call
    // reports it. Remembered, it went unreported on this instance until the job left its cache.
    // Said in the log: the call itself went on, so nothing else tells an operator the report is late.
    return this.deps.store.recordUnmatched(rt.job.id, hash, event).then(() => undefined, (err: unknown) => {
      rt.unmatchedSeen.delete(remembered);
      // A job deleted meanwhile has nothing left to report to.
      if (err instanceof JobGoneError) return;
      this.deps.log.warn({ err, jobId: rt.job.id, textSha256: hash }, 'unmatched system text not reported (the database refused the event); its next call reports it');
    });
  }
}

/**
 * Why a discovering job passed a text through, for its unmatched event: `full` only when discovery
 * has reached `mipro.max_modules`. Below the cap a text still passes through when the call named a
 * discovered module (one exact text: another text under its name may hold another request's data)
 * or when it is too long to become a module; saying the cap was reached then sent users to raise it.
 */
function discoveryMiss(rt: JobRuntime, text: string, named: string | null): { full: boolean; why: string } {
  if (!discoversModules(rt)) return { full: false, why: '' };
  const templates = '({placeholders})';
  if (named !== null && rt.modules.some((m) => m.name === named)) {
    return { full: false, why: `; it named module "${named}", which was discovered from another system text and takes only that text: if system texts carry per-request content, declare the modules with templates ${templates}` };
  }
  if (text.length > MAX_TEMPLATE_CHARS) return { full: false, why: `; it is longer than ${MAX_TEMPLATE_CHARS} characters, the longest text a module is discovered from` };
  return {
    full: true,
    why: `; the job discovers modules and has reached mipro.max_modules (${rt.job.config.mipro.max_modules}): if system texts carry per-request content, declare the modules with templates ${templates}`,
  };
}

/** A job that declared no modules discovers them from traffic, up to `mipro.max_modules`. */
export function discoversModules(rt: JobRuntime): boolean {
  return rt.job.config.modules === undefined && !rt.modules.some((m) => m.origin === 'declared');
}

function canDiscover(rt: JobRuntime): boolean {
  return discoversModules(rt) && rt.modules.length < rt.job.config.mipro.max_modules;
}
