import { parsedModuleText, renderModuleText, type CompiledModule } from '../optimizer/core/modules.js';
import { moduleInstruction, type Instructions } from '../optimizer/core/program.js';

/**
 * The system text a call of `moduleName` was served by a candidate: its text for the module rendered
 * with the call's recorded variables by the proxy's own renderModuleText (core/modules.ts). Call
 * records keep the client's messages without the system message the module's text replaced (the
 * proposer must not read our own instruction back), so a reader of a rollout gets it from here. Where the proxy kept the app's own
 * text (the baseline's), that text matched the template, so rendering the template with its captures
 * gives it back. Null for a call of no module (its own system text passed through, never stored), a
 * module the job no longer lists (`modules`: the job's, compiled once per view by the caller), or a text that used the module's placeholders once the call's
 * variables are gone (RETENTION_DAYS clears them with its other texts): rendered with none, it
 * showed `{context}` as if the upstream had been sent that.
 */
export function servedSystemText(
  instructions: Instructions,
  modules: readonly CompiledModule[],
  moduleName: string | null,
  variables: Readonly<Record<string, string>> | null,
): string | null {
  const module = moduleName === null ? undefined : modules.find((m) => m.name === moduleName);
  if (!module) return null;
  const text = moduleInstruction(instructions, module);
  // Only the module's own placeholders were filled (the proxy's variables are exactly those); any
  // other `{word}` went literally, so such a text is still known without them.
  if (variables === null && !module.parsed.literal && parsedModuleText(module, text).names.some((n) => module.parsed.names.includes(n))) return null;
  return renderModuleText(module, text, variables ?? {});
}
