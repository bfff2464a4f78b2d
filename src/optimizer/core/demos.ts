import type { Rng } from '../../shared/rng.js';
import { hasNul, isSystemMessage, NUL_MESSAGE, wellFormed } from './text.js';

/**
 * Demonstrations (SPEC.md, "Demonstrations and textual feedback"), pure: the pool a module's demos
 * come from, the demo sets a proposal draws from it, and how a demo set becomes conversation turns.
 *
 * A demo is one module call of a rewarded rollout on a bootstrap or online seed: its non-system
 * input turns and its text answer (an answer with tool calls is not one). Val and monitor rollouts never enter the pool: val seeds are the
 * held-out check of what the optimizer builds, and a demo carries its input into every prompt.
 *
 * A module that runs a tool loop gets no demos at all (`usedTools`): a demo is text turns only, so
 * its only demos would be the calls where it answered without calling a tool, and a set of them
 * shows the model nothing but "answer without tools" examples, steering it away from its tools.
 *
 * A demo of a module whose template has placeholders also carries the values its call was rendered
 * with (`variables`), as DSPy's demos carry every input field: its answer was written under them
 * (the retrieved passage of a RAG stage), and it is injected under another call's values, so it
 * shows its own in its first user turn (`demoInputTurns`).
 */

/** One user or assistant turn of a demo (text only: that is what renders the same on every surface). */
export interface DemoTurn {
  role: 'user' | 'assistant';
  content: string;
}

export interface Demo {
  input: DemoTurn[];
  output: string;
  rolloutId: string;
  /**
   * A templated module's demo: the value of each of the template's placeholders in its call, in
   * template order. Absent for a module without placeholders (its wire shape is unchanged).
   */
  variables?: Readonly<Record<string, string>>;
}

/** A candidate's demo sets: module -> ordered demos (a module absent from it has none). */
export type DemoSets = Readonly<Record<string, readonly Demo[]>>;

export const DEFAULT_MAX_DEMOS = 4;
export const MAX_DEMOS_LIMIT = 16;
/** Largest pool kept per module: enough subsets to search, bounded memory and prompt-free. */
export const DEMO_POOL_SIZE = 48;
/** Longest demo input or output kept (characters); a longer call is not a demo. */
export const MAX_DEMO_CHARS = 4000;
/**
 * Most input turns one demo may hold. The character caps bound a demo's text, not its messages: 4,000
 * one-character turns fit MAX_DEMO_CHARS, and a set of such demos sent 30,000 messages (about 1 MB of
 * request, a few tokens of framing each) with every call of the module, past the 10,000 messages the
 * proxy takes from a client and past context windows. 64 keeps a long chat a demo; 16 demos of it
 * add at most 1,040 messages.
 */
export const MAX_DEMO_TURNS = 64;
/**
 * Most characters a demo's variable values may hold together. Apart from MAX_DEMO_CHARS: a retrieved
 * passage is usually longer than the question asked about it. Bounded all the same: every demo is
 * sent with every call, and a 100 KB context as a demo would crowd out the prompt.
 */
export const MAX_DEMO_VARIABLES_CHARS = 8000;
/**
 * Most characters one module's demo set may add to a call (inputs, answers and values together):
 * each demo is bounded, but 16 of the largest would add about 256,000 characters to every call of
 * the candidate, past many context windows. A proposed set keeps its demos in order up to this.
 */
export const MAX_DEMO_SET_CHARS = 32000;

/** The characters a demo adds to a call. */
export function demoChars(d: Demo): number {
  const values = d.variables === undefined ? 0 : Object.values(d.variables).reduce((n, v) => n + v.length, 0);
  return d.input.reduce((n, t) => n + t.content.length, d.output.length + values);
}

/** The set's demos in order, as many as fit within MAX_DEMO_SET_CHARS (at least the first). */
function withinBudget(set: readonly Demo[]): Demo[] {
  let used = 0;
  const kept: Demo[] = [];
  for (const d of set) {
    used += demoChars(d);
    if (kept.length > 0 && used > MAX_DEMO_SET_CHARS) break;
    kept.push(d);
  }
  return kept;
}

/** One recorded module call as the pool sees it. */
export interface PoolCall {
  rolloutId: string;
  split: string;
  reward: number | null;
  inputMessages: readonly unknown[] | null;
  outputText: string | null;
  failed: boolean;
  /**
   * How many tool calls the answer held: such an answer is not a demo, since a demo's answer is an
   * assistant text turn and the record's text only renders the calls as `name(arguments)`.
   */
  toolCalls: number;
  /** The values the call's template was rendered with (null or absent: none recorded). */
  variables?: Readonly<Record<string, string>> | null;
}

const TRAINING = new Set(['bootstrap', 'online']);

/**
 * Whether a recorded call took part in a tool loop: its answer made tool calls, or its input holds a
 * tool call or a tool's result (chat `tool` / legacy `function` turns, an assistant turn with
 * `tool_calls` or `function_call`; every surface records its input in chat form).
 */
export function usedTools(c: Pick<PoolCall, 'toolCalls' | 'inputMessages'>): boolean {
  if (c.toolCalls > 0) return true;
  return (c.inputMessages ?? []).some((m) => {
    if (!m || typeof m !== 'object') return false;
    const { role, tool_calls: toolCalls, function_call: functionCall } = m as { role?: unknown; tool_calls?: unknown; function_call?: unknown };
    return role === 'tool' || role === 'function' || (Array.isArray(toolCalls) && toolCalls.length > 0) || (functionCall !== undefined && functionCall !== null);
  });
}

/**
 * The demo pool of one module: calls of rewarded training rollouts with reward >= `minReward`,
 * made of text turns only, deduplicated by input (the best reward wins, then the earliest), best
 * first, at most `limit`. The split is checked here again even though the query filters it too:
 * a val rollout in a demo would put a held-out input into the prompts scored on val.
 *
 * Empty for a module that runs a tool loop: `madeToolCalls` (any of its calls answered with tool
 * calls) or any call given here with tool turns in its input (`usedTools`).
 *
 * `placeholders`: the module template's (none: a plain module). Each demo of a templated module
 * carries its call's value of every one of them; a call without them all recorded, or whose values
 * exceed MAX_DEMO_VARIABLES_CHARS together (a stored value cut at 64 KiB always does), is no demo.
 * The same input under other values is another demo: the input key includes the values.
 */
export function buildDemoPool(calls: readonly PoolCall[], opts: { minReward: number; limit?: number; placeholders?: readonly string[]; madeToolCalls?: boolean }): Demo[] {
  // A tool loop's module: no demos (see the top of this file). `madeToolCalls`: any call of the
  // module answered with tool calls, which the calls read here (text answers only) cannot show.
  if (opts.madeToolCalls === true || calls.some(usedTools)) return [];
  const placeholders = opts.placeholders ?? [];
  const byInput = new Map<string, { demo: Demo; reward: number }>();
  for (const c of calls) {
    if (!TRAINING.has(c.split) || c.failed || c.reward === null || !Number.isFinite(c.reward) || c.reward < opts.minReward) continue;
    // Well-formed: a call's text cut mid-emoji by the app would make a demo no import could take back.
    const output = c.outputText === null ? null : wellFormed(c.outputText);
    // A demo is user/assistant turns: the app's own later system messages kept in the record (its
    // context beside the instruction) are left out of it, as they always were.
    const input = textTurns(c.inputMessages?.filter((m) => !isSystemMessage(m)) ?? null)?.map((t) => ({ role: t.role, content: wellFormed(t.content) })) ?? null;
    if (output === null || !input || demoProblem(input, output) !== null) continue;
    const variables = placeholders.length > 0 ? callVariables(c.variables, placeholders) : undefined;
    if (variables === null || (variables !== undefined && variablesProblem(variables) !== null)) continue;
    const demo: Demo = variables === undefined ? { input, output, rolloutId: c.rolloutId } : { input, output, rolloutId: c.rolloutId, variables };
    const key = demoKey(demo);
    const seen = byInput.get(key);
    if (!seen || c.reward > seen.reward) byInput.set(key, { demo, reward: c.reward });
  }
  return [...byInput.values()]
    .sort((a, b) => b.reward - a.reward)
    .slice(0, opts.limit ?? DEMO_POOL_SIZE)
    .map((e) => e.demo);
}

/**
 * Why these turns and answer cannot be a demo, or null: the rules for the demos miprox collects and
 * for those imported by hand alike. Every turn and the answer hold text (some providers refuse an
 * empty block), the input ends on the user turn the answer follows, holds at most MAX_DEMO_TURNS
 * turns, and both stay within MAX_DEMO_CHARS.
 */
export function demoProblem(input: readonly DemoTurn[], output: string): string | null {
  const shape = demoShapeProblem(input, output);
  if (shape !== null) return shape;
  const long = demoLengthProblem(input, output);
  return long === null ? null : `its ${long.field === 'input' ? 'input' : 'answer'} ${long.message}`;
}

/** demoProblem without the length caps (demoLengthProblem): turns, roles, empty text, NUL. */
export function demoShapeProblem(input: readonly DemoTurn[], output: string): string | null {
  if (input.length === 0) return 'must hold at least one input turn';
  if (input.length > MAX_DEMO_TURNS) return `must hold at most ${MAX_DEMO_TURNS} input turns (it has ${input.length}): every demo is sent with every call of its module`;
  if (input.some((t) => t.content.trim() === '')) return 'must not hold an empty turn';
  // Demos stand one after another, the first right after the system text: an input that opens with an
  // assistant turn (an app's greeting) follows the previous demo's answer, two assistant turns in a
  // row (Anthropic merges them into one answer), and opens the conversation when it comes first,
  // which Anthropic refuses. The proxy gives no demos to a call whose own turns open so, for the same reason.
  if (input[0]?.role !== 'user') return 'must open its input on a user turn (it follows the system text or the previous demo\'s answer)';
  if (input.at(-1)?.role !== 'user') return 'must end its input on a user turn (the demo\'s answer follows it)';
  if (output.trim() === '') return 'must have an answer that is not empty';
  // PostgreSQL text cannot hold one, and an exported demo must import back.
  if (hasNul(output) || input.some((t) => hasNul(t.content))) return NUL_MESSAGE;
  return null;
}

/**
 * Which part of a demo is over MAX_DEMO_CHARS (`input`, all its turns together, or `output`), with
 * its length, or null. Apart from demoProblem so an import's 422 can name the field: "input and
 * answer within 4000 each" on the demo left the client guessing which was over, and by how much.
 */
export function demoLengthProblem(input: readonly DemoTurn[], output: string): { field: 'input' | 'output'; message: string } | null {
  const inputChars = input.reduce((n, t) => n + t.content.length, 0);
  if (inputChars > MAX_DEMO_CHARS) {
    return { field: 'input', message: `holds ${inputChars} characters (its ${input.length} turn${input.length === 1 ? '' : 's'} together): at most ${MAX_DEMO_CHARS}` };
  }
  if (output.length > MAX_DEMO_CHARS) return { field: 'output', message: `holds ${output.length} characters: at most ${MAX_DEMO_CHARS}` };
  return null;
}

/**
 * The call's value of each placeholder, in template order, made well-formed; null when one is missing
 * (a call recorded before its variables were, or under an older template).
 */
function callVariables(recorded: Readonly<Record<string, string>> | null | undefined, placeholders: readonly string[]): Record<string, string> | null {
  if (!recorded) return null;
  const out: [string, string][] = [];
  for (const name of placeholders) {
    const value = Object.hasOwn(recorded, name) ? recorded[name] : undefined;
    if (typeof value !== 'string') return null;
    out.push([name, wellFormed(value)]);
  }
  // fromEntries defines its keys: a placeholder may be named `__proto__`.
  return Object.fromEntries(out);
}

/**
 * Why a demo's variable values cannot be sent with it, or null (collected and imported alike): no
 * NUL (PostgreSQL text), and MAX_DEMO_VARIABLES_CHARS in all.
 */
export function variablesProblem(variables: Readonly<Record<string, string>>): string | null {
  const values = Object.values(variables);
  if (values.some(hasNul)) return NUL_MESSAGE;
  const total = values.reduce((n, v) => n + v.length, 0);
  if (total > MAX_DEMO_VARIABLES_CHARS) return `must keep its variables within ${MAX_DEMO_VARIABLES_CHARS} characters in all (these hold ${total})`;
  return null;
}

/**
 * A call's conversation as demo turns: user and assistant messages with text content (string or
 * text parts). Null when it holds anything else (tool calls, images): such a call does not render
 * the same on every surface, so it is not a demo.
 */
export function textTurns(messages: readonly unknown[] | null): DemoTurn[] | null {
  if (!messages) return null;
  const turns: DemoTurn[] = [];
  for (const m of messages) {
    if (!m || typeof m !== 'object') return null;
    const { role, content, tool_calls: toolCalls } = m as { role?: unknown; content?: unknown; tool_calls?: unknown };
    if ((role !== 'user' && role !== 'assistant') || (Array.isArray(toolCalls) && toolCalls.length > 0)) return null;
    const text = textOf(content);
    if (text === null) return null;
    turns.push({ role, content: text });
  }
  return turns;
}

function textOf(content: unknown): string | null {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return null;
  let out = '';
  for (const p of content) {
    if (!p || typeof p !== 'object' || (p as { type?: unknown }).type !== 'text' || typeof (p as { text?: unknown }).text !== 'string') return null;
    out += (p as { text: string }).text;
  }
  return out;
}

export function inputKey(turns: readonly DemoTurn[]): string {
  return JSON.stringify(turns.map((t) => [t.role, t.content]));
}

/**
 * A demo's input: its turns and, for a templated module, the values they were asked under. An empty
 * `variables` object is no values: it shows nothing (`demoInputTurns`), so `{}` and an absent field
 * are one demo (a stored `{}` against an import without the field was keyed as another demo).
 */
export function demoKey(d: Pick<Demo, 'input' | 'variables'>): string {
  const values = d.variables === undefined ? [] : Object.entries(d.variables);
  return values.length === 0 ? inputKey(d.input) : JSON.stringify([d.input.map((t) => [t.role, t.content]), values]);
}

/**
 * A demo's input turns as the model is shown them. With variables, its first user turn opens with
 * one labelled block per placeholder, in template order, then a blank line and the turn itself:
 *
 *     context:
 *     <the demo's value of {context}>
 *
 *     <the demo's first user turn>
 *
 * DSPy shows every input field of a demo the same way, by name. Without this the demo's answer would
 * sit under the serving call's values (in its system text), grounded in text the model is not shown.
 */
export function demoInputTurns(d: Demo): DemoTurn[] {
  const entries = d.variables === undefined ? [] : Object.entries(d.variables);
  if (entries.length === 0) return d.input;
  const first = d.input.findIndex((t) => t.role === 'user');
  const fields = entries.map(([name, value]) => `${name}:\n${value}`).join('\n\n');
  return d.input.map((t, i) => (i === first ? { role: t.role, content: `${fields}\n\n${t.content}` } : t));
}

/**
 * What makes two demos the same demo: input, values and answer, not the rollout (one rollout may call
 * a module several times, each call its own demo, all with the rollout's id).
 */
const demoIdentity = (d: Demo): string => JSON.stringify([demoKey(d), d.output]);
const setKey = (demos: readonly Demo[]): string => JSON.stringify(demos.map(demoIdentity));
/** A demo set by content (turns, values and answers, in order): two sets with equal keys are one program part. */
export const demoSetKey = setKey;

/**
 * A new demo set for one module: half the time a fresh random subset of the pool in random order
 * (MIPROv2's bootstrapped sets), otherwise the parent's set with one demo swapped for a pool demo it
 * lacks, or reordered (a local move around what already works). Never a set some candidate already
 * holds for the module; null when none was found.
 */
export function proposeDemoSet(p: {
  pool: readonly Demo[];
  parent: readonly Demo[];
  existing: readonly (readonly Demo[])[];
  maxDemos: number;
}, rng: Rng): Demo[] | null {
  const k = Math.min(p.maxDemos, p.pool.length);
  if (k <= 0) return null;
  const taken = new Set(p.existing.map(setKey));
  for (let attempt = 0; attempt < 12; attempt++) {
    const set = withinBudget(p.parent.length > 0 && rng.next() < 0.5 ? mutate(p.parent, p.pool, k, rng) : shuffle(p.pool, rng).slice(0, k));
    if (set.length > 0 && !taken.has(setKey(set))) return set;
  }
  return null;
}

function mutate(parent: readonly Demo[], pool: readonly Demo[], k: number, rng: Rng): Demo[] {
  const set = parent.slice(0, k);
  const inSet = new Set(set.map(demoIdentity));
  const outside = pool.filter((d) => !inSet.has(demoIdentity(d)));
  if (set.length < k && outside.length > 0) return [...set, outside[Math.floor(rng.next() * outside.length)]!];
  if (outside.length > 0 && rng.next() < 0.75) {
    set[Math.floor(rng.next() * set.length)] = outside[Math.floor(rng.next() * outside.length)]!;
    return set;
  }
  return shuffle(set, rng);
}

function shuffle<T>(items: readonly T[], rng: Rng): T[] {
  const a = [...items];
  for (let i = a.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

/** Anything with a role: chat messages, Responses input items, Messages turns. */
export interface RoleMessage {
  role?: unknown;
}

const isSystemRole = (m: RoleMessage): boolean => m.role === 'system' || m.role === 'developer';

/**
 * How many system (or developer) messages open the conversation: the system text, after which
 * demos go. Every surface and the native bodies place inserted turns at this one position.
 */
export function systemHead(messages: readonly RoleMessage[]): number {
  let head = 0;
  while (head < messages.length && isSystemRole(messages[head]!)) head++;
  return head;
}

/**
 * The demo turns injected into one call, pure (messages in, messages out; one function for every
 * surface): each demo's input turns then its output as an assistant turn, placed right after the
 * leading system (or developer) messages and before the client's own conversation. A surface that
 * carries its system text outside the list (Responses `instructions`, Messages `system`) passes its
 * turns and gets the demos first. A demo whose input is the call's own conversation is left out: a
 * call must never be shown its own earlier answer (that would inflate the candidate's online score).
 * `variables`: the call's template values; a templated module's demo is the call's own input only
 * when its values are the call's too (`sameValues`).
 */
export function withDemoTurns<M extends RoleMessage>(messages: readonly M[], demos: readonly Demo[], turn: (t: DemoTurn) => M, variables?: Readonly<Record<string, string>>): M[] {
  if (demos.length === 0) return [...messages];
  const head = systemHead(messages);
  // Compared as the demo pool builds a demo's input: the app's own system messages left out, or a
  // call with one after a turn (its context) had no turns to compare and was shown its own answer.
  const own = textTurns(messages.slice(head).filter((m) => !isSystemRole(m)));
  const ownKey = own ? inputKey(own) : null;
  const turns = demoTurns(demos.filter((d) => inputKey(d.input) !== ownKey || !sameValues(d, variables))).map(turn);
  return [...messages.slice(0, head), ...turns, ...messages.slice(head)];
}

/**
 * Whether a demo whose turns are the call's was also asked under the call's values: only then is it
 * the call's own input. A templated module's user turn is often the same on every call ("Answer.",
 * the question living in {context}): compared by turns alone, every demo of such a module would be
 * left out of every call. A plain demo, or a call whose values are not known, compares by turns.
 */
function sameValues(d: Demo, variables: Readonly<Record<string, string>> | undefined): boolean {
  if (d.variables === undefined || variables === undefined) return true;
  return Object.entries(d.variables).every(([name, value]) => Object.hasOwn(variables, name) && wellFormed(variables[name]!) === value);
}

/** The demo turns of a demo set alone, as injected (variables in each demo's first user turn). */
export function demoTurns(demos: readonly Demo[]): DemoTurn[] {
  return demos.flatMap((d) => [...demoInputTurns(d), { role: 'assistant' as const, content: d.output }]);
}

/** A child program's demo sets: the parent's with one module's set replaced. */
export function withModuleDemos(parent: DemoSets, module: string, demos: readonly Demo[]): Record<string, Demo[]> {
  const out: Record<string, Demo[]> = Object.fromEntries(Object.entries(parent).map(([m, d]) => [m, [...d]]));
  out[module] = [...demos];
  return out;
}

export interface DemoView { input: DemoTurn[]; output: string; rollout_id: string; variables?: Readonly<Record<string, string>> }

/**
 * The wire view of a candidate's demos (also their stored form): `{module: [{input, output,
 * rollout_id}]}`, plus `variables` on a templated module's demo only, so a plain module's demos
 * keep the shape clients and stored rows already have.
 */
export function demosView(sets: DemoSets): Record<string, DemoView[]> {
  return Object.fromEntries(Object.entries(sets).filter(([, d]) => d.length > 0).map(([m, d]) => [m, d.map(demoView)]));
}

export function demoView(d: Demo): DemoView {
  const view = { input: d.input, output: d.output, rollout_id: d.rolloutId };
  return d.variables === undefined ? view : { ...view, variables: d.variables };
}
