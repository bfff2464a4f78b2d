import { TIP_TEXTS, type TipId } from './tips.js';
import { extractPlaceholders, renderInput, truncate } from './text.js';
import type { Interval } from './types.js';
import { MAX_TEMPLATE_CHARS } from './modules.js';

/**
 * The grounded proposer prompt (MIPRO), with GEPA-style reflection on the parent's worst and best
 * rollouts and OPRO-style history of scored instructions.
 *
 * Val-split data must never reach the proposer: val seeds are the held-out check on what the
 * proposer produces. None of these input types has a field for a split, a seed or val scores;
 * rollouts come from `selectReflectionRollouts`, which drops val rollouts, and instruction history
 * carries online statistics only.
 */

export interface ProposerMessage {
  role: 'system' | 'user';
  content: string;
}

/** One observed rollout: the input (OpenAI messages or text), the model's output and its reward. */
export interface ObservedRollout {
  input: unknown;
  output: string | null;
  reward: number;
  /** The app's feedback text for this rollout (reward_info.feedback / feedback_by_module); never for val. */
  feedback?: string | null;
}

export interface ScoredInstruction {
  instruction: string;
  status: 'active' | 'retired';
  n: number;
  mean: number;
  ci: Interval;
}

export interface ProposerPromptInput {
  datasetSummary: string | null;
  /** The baseline instruction: what the program is for, and the format it must keep. */
  programDescription: string;
  parent: { instruction: string; n: number; mean: number; ci: Interval };
  /** About three of the parent's lowest-reward online rollouts. */
  worstRollouts: readonly ObservedRollout[];
  /** About two of the parent's highest-reward online rollouts. */
  bestRollouts: readonly ObservedRollout[];
  /** Every other candidate with its online statistics; the prompt shows the top few and the worst retired. */
  history: readonly ScoredInstruction[];
  tip: TipId;
  instructionsPerBatch: number;
  /**
   * The program around the module being improved (multi-module jobs): its modules in the order
   * rollouts call them, with the parent's instruction for each. The rollouts shown are then that
   * module's own calls.
   */
  program?: { modules: readonly { name: string; instruction: string }[]; target: string };
  /** Longest instruction accepted (characters). Default: instructionLengthLimit of the module's baseline. */
  maxLength?: number;
  /** Longest rollout input or output shown (characters). Default 700. */
  maxRolloutChars?: number;
}

export const DEFAULT_MAX_INSTRUCTION_LENGTH = 4000;

/**
 * The longest instruction accepted for a module whose baseline text is `baseline`: 4,000 characters,
 * or twice the baseline where that is longer (at most a template's own limit). A fixed 4,000 was
 * below what a module may declare (templates up to 100,000 characters): the proposer was shown the
 * module's text cut short, and every instruction it wrote for a 4 KB template, which keeps the
 * template's content, was refused as too long, so such a module never got a proposal.
 */
export function instructionLengthLimit(baseline: string): number {
  return Math.min(MAX_TEMPLATE_CHARS, Math.max(DEFAULT_MAX_INSTRUCTION_LENGTH, 2 * baseline.length));
}
/**
 * The proposer's answer budget (max_tokens) for `n` instructions about as long as the module's text:
 * the job's `proposer.max_tokens`, raised where n such texts could not fit in it (about 3 characters
 * a token, plus the JSON around them). With the default 512 an answer rewriting a 4 KB template was
 * always cut off, unparseable or too short, so such a module's proposals failed whatever their limit.
 */
export function proposerAnswerTokens(configured: number, moduleText: string, n: number): number {
  return Math.max(configured, Math.ceil((Math.max(1, n) * moduleText.length) / 3) + 256);
}

const TOP_HISTORY = 3;
/** Longest feedback text shown per rollout (the stored text may be up to 4000 characters). */
const FEEDBACK_CHARS = 1200;
const WORST_RETIRED = 2;

export function buildProposerPrompt(input: ProposerPromptInput): ProposerMessage[] {
  const n = Math.max(1, Math.floor(input.instructionsPerBatch));
  const maxLength = input.maxLength ?? instructionLengthLimit(input.programDescription);
  const maxChars = input.maxRolloutChars ?? 700;
  const placeholders = extractPlaceholders(input.programDescription);
  const sections = [
    section('Task data', taskData(input)),
    section('Program description (the original instruction)', quote(truncate(input.programDescription, maxLength))),
    section(
      'Current instruction to improve',
      `${quote(truncate(input.parent.instruction, maxLength))}\nScore on live traffic: ${scoreLine(input.parent)}.`,
    ),
    ...(input.program && input.program.modules.length > 1 ? [section('The program around it', programContext(input.program))] : []),
    section('Rollouts where it did worst', rollouts(input.worstRollouts, maxChars)),
    section('Rollouts where it did best', rollouts(input.bestRollouts, maxChars)),
    section('Instructions tried before, with their scores (mean [95% interval], n)', history(input)),
  ];
  const tip = TIP_TEXTS[input.tip];
  if (tip) sections.push(section('Style tip', tip));
  sections.push(section('Constraints', constraints(placeholders, maxLength).join('\n')));
  sections.push(
    section(
      'Answer format',
      `Propose exactly ${n} new, different instruction${n === 1 ? '' : 's'}. Reply with JSON only, no other text:\n` +
        `{"instructions": [${Array.from({ length: n }, (_, i) => `"instruction ${i + 1}"`).join(', ')}]}`,
    ),
  );
  return [
    {
      role: 'system',
      content:
        'You improve the instruction (system prompt) that a language model follows in a deployed program. ' +
        'Study how the current instruction performs on real inputs, infer what the task needs, and write better ' +
        'instructions. Rewards are scores from the program (higher is better).',
    },
    { role: 'user', content: sections.join('\n\n') },
  ];
}

/** A summary (MIPRO's dataset descriptor) of inputs observed on bootstrap and online rollouts. */
export function buildDatasetSummaryPrompt(
  inputs: readonly unknown[],
  opts: { maxInputs?: number; maxChars?: number } = {},
): ProposerMessage[] {
  const shown = inputs.slice(0, opts.maxInputs ?? 10).map((x, i) => `Input ${i + 1}:\n${renderInput(x, opts.maxChars ?? 500)}`);
  return [
    {
      role: 'system',
      content: 'You describe datasets. You see sample inputs a program receives and summarise what they have in common.',
    },
    {
      role: 'user',
      content:
        `${shown.join('\n\n') || '(no inputs)'}\n\n` +
        'In 2-3 sentences, describe these inputs: the topic or domain, the kind of request, the format and length, ' +
        'and anything a writer of instructions for this program should know. Do not solve any of them. ' +
        'Reply with the summary only.',
    },
  ];
}

/** Picks reflection rollouts from rewarded rollouts of a candidate, never from the val split. */
export function selectReflectionRollouts(
  rollouts: readonly (ObservedRollout & { split: string })[],
  counts: { worst?: number; best?: number } = {},
): { worst: ObservedRollout[]; best: ObservedRollout[] } {
  const usable = rollouts.filter((r) => r.split !== 'val' && Number.isFinite(r.reward));
  const strip = ({ input, output, reward, feedback }: ObservedRollout): ObservedRollout => ({ input, output, reward, ...(feedback ? { feedback } : {}) });
  // With only a few rollouts, split them so a success is shown as one, not as a "worst" case.
  const descending = [...usable].sort((a, b) => b.reward - a.reward);
  const best = descending.slice(0, Math.min(counts.best ?? 2, Math.floor((usable.length + 1) / 2)));
  // A rollout with the top score is never shown as a "worst" case (when all scored the same, none is).
  const top = descending[0]?.reward ?? Number.POSITIVE_INFINITY;
  const worst = descending
    .slice(best.length)
    .filter((r) => r.reward < top)
    .reverse()
    .slice(0, counts.worst ?? 3);
  return { worst: worst.map(strip), best: best.map(strip) };
}

/**
 * MIPRO's dataset descriptor. It is built from the rollouts' first inputs, so in a program of several
 * modules it describes what the program receives, not what a later module does: it says so.
 */
function taskData(input: ProposerPromptInput): string {
  const summary = input.datasetSummary?.trim();
  if (!summary) return 'No summary of the task inputs is available yet.';
  const first = input.program && input.program.modules.length > 1 ? input.program.modules[0]?.name : undefined;
  return first === undefined ? summary : `${summary}\n(This describes the program's inputs, as its first module, "${first}", receives them.)`;
}

function programContext(program: NonNullable<ProposerPromptInput['program']>): string {
  const steps = program.modules.map((m, i) =>
    `${i + 1}. module "${m.name}"${m.name === program.target ? ' (the one to improve; its calls are the examples below)' : ''}:\n${quote(truncate(m.instruction, 600))}`);
  return 'The application runs several prompts (modules) per rollout; the reward scores the whole rollout. ' +
    `Improve only module "${program.target}"; the others stay as they are.\n${steps.join('\n')}`;
}

function constraints(placeholders: string[], maxLength: number): string[] {
  return [
    '- Keep the output format the original instruction asks for (structure, labels, answer style): the program parses it.',
    placeholders.length > 0
      ? `- Keep these placeholders exactly as written, braces included: ${placeholders.join(', ')}.`
      : '- Do not add {placeholders}: the program fills none.',
    '- Write general guidance for the whole task. Do not include answers to, or details of, the example inputs above.',
    `- Each instruction must be at most ${maxLength} characters.`,
    '- Each instruction must differ meaningfully from the current one and from those tried before.',
  ];
}

function history(input: ProposerPromptInput): string {
  const others = input.history.filter((h) => h.instruction !== input.parent.instruction && h.n > 0);
  const top = [...others].sort((a, b) => b.mean - a.mean).slice(0, TOP_HISTORY);
  const worstRetired = others
    .filter((h) => h.status === 'retired' && !top.includes(h))
    .sort((a, b) => a.mean - b.mean)
    .slice(0, WORST_RETIRED);
  const line = (h: ScoredInstruction): string => `- ${scoreLine(h)}${h.status === 'retired' ? ' (retired: clearly worse)' : ''}\n${quote(truncate(h.instruction, 800))}`;
  const parts = [...top.map(line), ...worstRetired.map(line)];
  return parts.length > 0 ? parts.join('\n') : 'None yet.';
}

function rollouts(list: readonly ObservedRollout[], maxChars: number): string {
  if (list.length === 0) return 'None observed yet.';
  return list
    .map(
      (r, i) =>
        `Example ${i + 1} (reward ${fmt(r.reward)}):\nInput:\n${indent(renderInput(r.input, maxChars))}\n` +
        `Output:\n${indent(r.output === null ? '(no output)' : truncate(r.output, maxChars))}` +
        // The program's own words on why (GEPA's signal): only when it gave any, so prompts without feedback are unchanged.
        (r.feedback ? `\nFeedback from the program (why it scored so; use it to find the cause):\n${indent(truncate(r.feedback, FEEDBACK_CHARS))}` : ''),
    )
    .join('\n\n');
}

function scoreLine(s: { n: number; mean: number; ci: Interval }): string {
  return `${fmt(s.mean)} [${fmt(s.ci[0])}, ${fmt(s.ci[1])}], n=${s.n}`;
}

function fmt(x: number): string {
  return Number.isFinite(x) ? x.toFixed(3) : String(x);
}

function section(title: string, body: string): string {
  return `## ${title}\n${body}`;
}

function quote(text: string): string {
  return text
    .split('\n')
    .map((l) => `> ${l}`)
    .join('\n');
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `    ${l}`)
    .join('\n');
}
