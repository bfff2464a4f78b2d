import { z } from 'zod';
import { requiredString } from './requiredString.js';
import { PROVIDER_KINDS } from '../providers/types.js';
import { MAX_MODULES, MAX_TEMPLATE_CHARS, type ProgramModule } from '../optimizer/core/modules.js';
import { parseTemplate, templateProblem } from '../optimizer/core/templates.js';
import { DEFAULT_MAX_DEMOS, MAX_DEMOS_LIMIT } from '../optimizer/core/demos.js';
import { PROPOSER_MODES } from '../optimizer/core/proposalKind.js';
import { MAX_INT4, storableText } from './dbText.js';
import { moduleNameSchema } from './moduleName.js';
import { isPlainObject, unknownFieldMessage } from './unknownFields.js';
import { WildcardsSchema } from './wildcards.js';

/**
 * The MIPRO Online job configuration (the seed's `policy_optimization` body). One schema; the
 * stored config and every consumer use `JobConfig = z.infer<...>`.
 */

const MAX_SEEDS = 100_000;
/**
 * Seeds are stored as 32-bit integers (PostgreSQL `integer`): both stores take the same seeds. A
 * seed written as text (the proxy's `?seed=`, its header, the seed-evals filter) is read by integerText.ts.
 */
export const MAX_SEED = MAX_INT4;
const SEED_MESSAGE = `must be an integer between 0 and ${MAX_SEED}`;
const LIST_MESSAGE = 'must be a non-empty array of integers or a {start, end} range';
/** Bad entries listed per seed list; the rest are counted (a million bad seeds cost one pass). */
const LISTED_BAD_SEEDS = 5;

const isSeed = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= MAX_SEED;

/**
 * Seeds as an int array or a `{start, end}` range (end exclusive, as in Python's range). Checked by
 * hand rather than with z.array(z.number()): zod builds an issue per bad element, and a body of a
 * million bad seeds then cost seconds and a response of megabytes. Here the work is one pass, and
 * at most LISTED_BAD_SEEDS entries are named.
 */
function seedList(v: unknown, ctx: z.RefinementCtx): number[] {
  const fail = (message: string, path: PropertyKey[] = []): never => {
    ctx.addIssue({ code: 'custom', message, path });
    return z.NEVER;
  };
  if (v === undefined) return fail('is required');
  if (Array.isArray(v)) {
    if (v.length === 0) return fail('must not be empty');
    if (v.length > MAX_SEEDS) return fail(`at most ${MAX_SEEDS} seeds (got ${v.length})`);
    let bad = 0;
    for (let i = 0; i < v.length; i++) {
      if (isSeed(v[i])) continue;
      if (bad < LISTED_BAD_SEEDS) ctx.addIssue({ code: 'custom', message: SEED_MESSAGE, path: [i] });
      bad++;
    }
    if (bad > LISTED_BAD_SEEDS) fail(`${bad} entries in all are not seeds (${SEED_MESSAGE}); the first ${LISTED_BAD_SEEDS} are listed`);
    return bad > 0 ? z.NEVER : (v as number[]);
  }
  if (typeof v === 'object' && v !== null && 'start' in v && 'end' in v) {
    const { start, end } = v as { start: unknown; end: unknown };
    // The range is checked by hand, so its unknown keys are too (unknownFields.ts cannot see into it).
    for (const key of Object.keys(v)) if (key !== 'start' && key !== 'end') ctx.addIssue({ code: 'custom', message: unknownFieldMessage(key, ['start', 'end']), path: [key] });
    // end is exclusive, so it may be one past the largest seed.
    const endOk = typeof end === 'number' && Number.isInteger(end) && end >= 0 && end <= MAX_SEED + 1;
    if (!isSeed(start)) fail(SEED_MESSAGE, ['start']);
    if (!endOk) fail(`must be an integer between 0 and ${MAX_SEED + 1} (exclusive)`, ['end']);
    if (!isSeed(start) || !endOk) return z.NEVER;
    if (end <= start) return fail('end must be greater than start');
    if (end - start > MAX_SEEDS) return fail(`at most ${MAX_SEEDS} seeds`);
    return Array.from({ length: end - start }, (_, i) => start + i);
  }
  return fail(LIST_MESSAGE);
}

const SeedList = z.unknown().transform(seedList);

/** `mipro.max_modules` when a discovering job does not set it. */
export const DEFAULT_MAX_MODULES = 8;

/**
 * A required field's type error: "is required" when the key is absent (left out, or misspelled: the
 * unknown-field check names the misspelling), else what the value must be.
 */
const orMissing = (message: string) => (issue: { input?: unknown }) => (issue.input === undefined ? `is required; it ${message}` : message);

/**
 * For a check that compares fields of one object: run it even when another field of the object was
 * refused (zod skips refinements after such a problem by default), so one 422 lists every bad field
 * as SPEC.md asks, instead of a second refusal after the first is fixed. Such a check reads the
 * object as sent, so it compares only fields that are themselves valid.
 */
const evenBesideOtherProblems = { when: (payload: { value: unknown }) => isPlainObject(payload.value) };

/** `reward_range` as a valid range, else undefined (a refused range is reported on its own). */
function validRange(range: unknown): [number, number] | undefined {
  return RewardRangeSchema.safeParse(range).success ? (range as [number, number]) : undefined;
}

const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);

const positiveInt = (what = 'an integer >= 1') =>
  z.number({ error: orMissing(`must be ${what}`) }).int(`must be ${what}`).min(1, `must be ${what}`);

const Provider = z.enum(PROVIDER_KINDS, {
  error: orMissing(`must be one of: ${PROVIDER_KINDS.join(', ')}`),
});

const ModelName = requiredString('a model name').min(1, 'must not be empty');
const Temperature = z.number({ error: 'must be a number' }).min(0, 'must be between 0 and 2').max(2, 'must be between 0 and 2');

/** An openai_compatible upstream has no default address: the job must say where it is. */
function requireInferenceUrlForCompatible(v: { provider: string; inference_url?: string | undefined }, ctx: z.RefinementCtx): void {
  if (v.provider === 'openai_compatible' && v.inference_url === undefined) {
    ctx.addIssue({ code: 'custom', path: ['inference_url'], message: 'is required when provider is "openai_compatible" (the base URL, e.g. http://host:8000/v1)' });
  }
}

/**
 * An inference_url's query credentials (`?api_key=`) are looked for in every byte the upstream sends
 * back (providers/secretRedaction.ts), and its length was unbounded: a tenant whose own server answered
 * a URL of megabytes (one long `?key=` value, or a hundred thousand of them) held the event loop for
 * seconds per answer chunk, every tenant's calls waiting. Real base URLs, signed ones included, are
 * a few hundred characters; servers refuse request lines much longer than this.
 */
export const MAX_INFERENCE_URL_LENGTH = 2048;
const InferenceUrl = z.url({ error: 'must be an http(s) URL' })
  .max(MAX_INFERENCE_URL_LENGTH, `must be at most ${MAX_INFERENCE_URL_LENGTH} characters`);

export const PolicySchema = z.object({
  model: ModelName,
  provider: Provider,
  /** null: never sent, so the provider's default applies (reasoning models accept no other). */
  temperature: Temperature.nullable().default(0),
  // The bound needs its own message: without one, zod reports the schema's ("must be an integer >= 1").
  max_completion_tokens: positiveInt().max(1_000_000, 'must be <= 1000000').default(256),
  inference_url: InferenceUrl.optional(),
  inference_mode: z.string().optional(),
}).superRefine(requireInferenceUrlForCompatible, evenBesideOtherProblems);

export const ProposerSchema = z.object({
  /** What proposals change (core/proposalKind.ts): instructions, demo sets, or both. */
  mode: z.enum(PROPOSER_MODES, { error: 'must be "instruction_only", "demos_only" or "instruction_and_demos"' }).default('instruction_only'),
  model: ModelName,
  provider: Provider,
  inference_url: InferenceUrl.optional(),
  /**
   * null: never sent, on the proposal call and the dataset-summary call alike. OpenAI's reasoning
   * models (o1, o3, o4-mini, gpt-5) refuse any temperature but their default, so a job proposing
   * with one could never get a proposal.
   */
  temperature: Temperature.nullable().default(0.7),
  max_tokens: positiveInt().max(200_000, 'must be <= 200000').default(512),
  instructions_per_batch: positiveInt().max(10, 'must be <= 10').default(2),
  generate_at_iterations: z.array(z.number().int()).max(10_000, 'must have at most 10000 entries').optional(),
  /** Spend caps: once the proposer's answered calls / total tokens reach them, no more proposals. */
  max_calls: positiveInt().max(1_000_000, 'must be <= 1000000').optional(),
  max_total_tokens: positiveInt().max(Number.MAX_SAFE_INTEGER, 'must be a safe integer').optional(),
}).superRefine(requireInferenceUrlForCompatible, evenBesideOtherProblems);

/** Same bound as a reward's magnitude (MAX_ABS_REWARD in services/rewardService.ts). */
const MAX_RANGE_BOUND = 1e6;
const RANGE_MESSAGE = `must be [lo, hi]: two finite numbers between -${MAX_RANGE_BOUND} and ${MAX_RANGE_BOUND} with lo < hi`;
const RangeBound = z.number({ error: RANGE_MESSAGE }).min(-MAX_RANGE_BOUND, RANGE_MESSAGE).max(MAX_RANGE_BOUND, RANGE_MESSAGE);

/**
 * Rewards closer to 0 than this are recorded as 0 (MIN_ABS_REWARD in services/rewardService.ts, kept
 * equal by a test). A bound nearer 0 than this, and not 0, made a job no reward could reach: in
 * `[1e-200, 2e-200]` every reward in the range was read as 0 and refused as outside it ("got 0"), and
 * `[0, 1e-200]` recorded every reward as 0.
 */
export const MIN_RANGE_BOUND = 1e-100;

export const RewardRangeSchema = z.tuple([RangeBound, RangeBound], { error: RANGE_MESSAGE })
  .refine(([lo, hi]) => lo < hi, RANGE_MESSAGE)
  .refine(([lo, hi]) => [lo, hi].every((b) => b === 0 || Math.abs(b) >= MIN_RANGE_BOUND),
    `${RANGE_MESSAGE}, each 0 or at least ${MIN_RANGE_BOUND} from 0 (rewards nearer 0 than that are recorded as 0)`);

const Probability = (what: string) => z.number({ error: `must be a number (${what})` })
  .gt(0, `must be greater than 0 (${what})`).lt(1, `must be less than 1 (${what})`);

export const StopRuleSchema = z.object({
  // In reward units, so bounded by the width of reward_range (stopEpsilonInRange), not by 1.
  epsilon: z.number({ error: 'must be a number (the reward gap within which the champion counts as identified)' })
    .gt(0, 'must be greater than 0 (the reward gap within which the champion counts as identified)').default(0.01),
  delta: Probability('the error probability of the identification').default(0.05),
});

export const MiproSchema = z.object({
  mode: z.literal('online', { error: orMissing('must be "online" (miprox runs MIPRO in online mode only)') }),
  bootstrap_train_seeds: SeedList,
  val_seeds: SeedList,
  online_pool: SeedList,
  online_proposer_mode: z.literal('inline', { error: orMissing('must be "inline" (the only supported proposer mode)') }),
  online_proposer_min_rollouts: positiveInt(),
  online_rollouts_per_candidate: positiveInt(),
  online_proposer_max_candidates: positiveInt().max(1000, 'must be <= 1000').default(20),
  // Compared with the job's reward count, a 32-bit integer on PostgreSQL (as on the reward's batch
  // statement): a larger budget could never be reached, and PostgreSQL refused it as a parameter, so
  // every reward of such a job was a 500 there (SQLite took them). Refused on both at creation.
  max_rollouts: positiveInt(`an integer between 1 and ${MAX_INT4}`).max(MAX_INT4, `must be an integer between 1 and ${MAX_INT4}`).optional(),
  /**
   * Discovery's cap: with no modules declared, at most this many distinct system texts become modules.
   * No default here: JobConfigSchema must see whether it was sent (it is refused beside declared
   * modules) and fills DEFAULT_MAX_MODULES after that check.
   */
  max_modules: positiveInt().max(MAX_MODULES, `must be <= ${MAX_MODULES}`).optional(),
  /** Every reward lies in [lo, hi]: the intervals rely on it, so a reward outside is refused. */
  reward_range: RewardRangeSchema.default([0, 1]),
  proposer: ProposerSchema,
  /** After the end: watch the served candidate's monitored rewards (core/guard.ts). */
  guard: z.enum(['off', 'alert', 'revert'], { error: 'must be "off", "alert" or "revert"' }).default('alert'),
  /** End the job by itself once the champion is identified (core/stopRule.ts); off when absent. */
  stop_when_identified: StopRuleSchema.optional(),
  /** Demos per module a demo-set proposal draws (core/demos.ts). */
  max_demos: z.number({ error: `must be an integer between 0 and ${MAX_DEMOS_LIMIT}` }).int(`must be an integer between 0 and ${MAX_DEMOS_LIMIT}`)
    .min(0, `must be an integer between 0 and ${MAX_DEMOS_LIMIT}`).max(MAX_DEMOS_LIMIT, `must be an integer between 0 and ${MAX_DEMOS_LIMIT}`).default(DEFAULT_MAX_DEMOS),
  /** Least reward of a rollout whose calls may become demos; absent: the top of reward_range. */
  demo_min_reward: z.number({ error: 'must be a finite number (a reward within reward_range)' }).optional(),
}).superRefine(keepValHeldOut, evenBesideOtherProblems).superRefine(demoThresholdInRange, evenBesideOtherProblems)
  .superRefine(stopEpsilonInRange, evenBesideOtherProblems);

/**
 * The stop rule's epsilon is a reward gap in the job's units (stopCheck.ts rescales it by the range),
 * so it is bounded by the width of reward_range: a 0-100 score may use an epsilon of 2 points. A gap
 * as wide as the range would hold for any two candidates.
 */
function stopEpsilonInRange(v: { stop_when_identified?: { epsilon: number } | undefined; reward_range?: unknown }, ctx: z.RefinementCtx): void {
  const epsilon: unknown = isPlainObject(v.stop_when_identified) ? v.stop_when_identified.epsilon : undefined;
  const range = validRange(v.reward_range);
  if (!isFiniteNumber(epsilon) || epsilon <= 0 || range === undefined) return;
  const [lo, hi] = range;
  if (epsilon >= hi - lo) {
    ctx.addIssue({ code: 'custom', path: ['stop_when_identified', 'epsilon'], message: `must be less than the width of reward_range [${lo}, ${hi}] (${hi - lo}), got ${epsilon}` });
  }
}

/** A threshold outside the declared range would admit every rollout or none. */
function demoThresholdInRange(v: { demo_min_reward?: number | undefined; reward_range?: unknown }, ctx: z.RefinementCtx): void {
  const range = validRange(v.reward_range);
  if (!isFiniteNumber(v.demo_min_reward) || range === undefined) return;
  const [lo, hi] = range;
  if (v.demo_min_reward < lo || v.demo_min_reward > hi) {
    ctx.addIssue({ code: 'custom', path: ['demo_min_reward'], message: `must lie within reward_range [${lo}, ${hi}], got ${v.demo_min_reward}` });
  }
}

/** The least reward of a demo's rollout: `demo_min_reward`, else the top of the reward range. */
export function demoMinReward(mipro: { demo_min_reward?: number | undefined; reward_range: readonly [number, number] | [number, number] }): number {
  return mipro.demo_min_reward ?? mipro.reward_range[1];
}

/**
 * A val seed that is also a training seed would reach the proposer through observed rollouts and be
 * scored on candidates written from it: best_score would no longer be held out.
 */
function keepValHeldOut(v: { val_seeds: unknown; bootstrap_train_seeds: unknown; online_pool: unknown }, ctx: z.RefinementCtx): void {
  // zod runs this even when a seed list itself was refused (then it may not be an array): skip.
  if (!Array.isArray(v.val_seeds) || !Array.isArray(v.bootstrap_train_seeds) || !Array.isArray(v.online_pool)) return;
  const training = new Set([...v.bootstrap_train_seeds, ...v.online_pool]);
  const shared = [...new Set(v.val_seeds.filter((seed) => training.has(seed)))];
  if (shared.length === 0) return;
  const shown = shared.slice(0, 5).join(', ') + (shared.length > 5 ? `, ... (${shared.length} in all)` : '');
  ctx.addIssue({
    code: 'custom', path: ['val_seeds'],
    message: `must not share seeds with bootstrap_train_seeds or online_pool (${shown}): val seeds are held out`,
  });
}

export const PromptMessageSchema = z.object({
  role: z.enum(['system', 'user', 'assistant', 'developer'], { error: orMissing('must be system, user, assistant or developer') }),
  // The system pattern is module "main"'s template: the same bound as a declared module's (it is
  // copied into every view of the job and every candidate's program).
  pattern: storableText(z.string({ error: orMissing('must be a string') }).max(MAX_TEMPLATE_CHARS, `must be at most ${MAX_TEMPLATE_CHARS} characters`)),
  order: z.number().int().optional(),
});

export const InitialPromptSchema = z.object({
  id: z.string().optional(),
  name: z.string().optional(),
  // Lengths are checked before elements (zod checks an array's size first): a body of a million
  // entries costs nothing to refuse, instead of seconds of event loop to list their problems.
  messages: z.array(PromptMessageSchema).min(1, 'must contain at least one message').max(64, 'must have at most 64 messages'),
  /** `{placeholder: "REQUIRED" | "OPTIONAL"}` for the system pattern's placeholders (wildcards.ts). */
  wildcards: WildcardsSchema.optional(),
});

const ModuleTemplate = storableText(z.string({ error: 'must be a string (the prompt, with {placeholders})' })
  .max(MAX_TEMPLATE_CHARS, `must be at most ${MAX_TEMPLATE_CHARS} characters`))
  .superRefine((text, ctx) => {
    const problem = templateProblem(parseTemplate(text));
    if (problem) ctx.addIssue({ code: 'custom', message: problem });
  });

/** Closed like every wire object: the unknown-field walk (unknownFields.ts) reports a stray key once, with the known names. */
export const ModuleSchema = z.object({
  name: moduleNameSchema(),
  template: ModuleTemplate,
});

const ModulesSchema = z.array(ModuleSchema)
  .min(1, 'must contain at least one module')
  .max(MAX_MODULES, `must contain at most ${MAX_MODULES} modules`)
  .superRefine((modules, ctx) => {
    const seen = new Map<string, number>();
    modules.forEach((m: unknown, i) => {
      // Also runs when another module failed (`when`), so one answer lists every bad field: an element may be anything here.
      const name = typeof m === 'object' && m !== null ? (m as { name?: unknown }).name : undefined;
      if (typeof name !== 'string') return;
      const first = seen.get(name);
      if (first !== undefined) ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicates the name of module ${first} ("${name}")` });
      else seen.set(name, i);
    });
  }, { when: (payload) => Array.isArray(payload.value) });

/**
 * `modules` and `initial_prompt` are two forms of one declaration (initial_prompt's system pattern is
 * module "main"). The message also answers the reason a program's author reaches for initial_prompt:
 * its wildcards, which declared modules do not have.
 */
function oneProgramForm(v: { modules?: unknown; initial_prompt?: unknown }, ctx: z.RefinementCtx): void {
  if (v.modules === undefined || v.initial_prompt === undefined) return;
  ctx.addIssue({
    code: 'custom', path: ['initial_prompt'],
    message: 'must not be given together with modules: initial_prompt is the one-module form (module "main"); declare it as a module instead'
      + ' (declared modules have no wildcards: send "" in mipro.variables for a placeholder that may be empty)',
  });
}

export const JobConfigSchema = z.object({
  algorithm: z.literal('mipro', { error: orMissing('must be "mipro" (the only supported algorithm)') }),
  task_app_url: z.url({ error: 'must be a URL' }).optional(),
  task_app_id: z.string().optional(),
  policy: PolicySchema,
  initial_prompt: InitialPromptSchema.optional(),
  modules: ModulesSchema.optional(),
  mipro: MiproSchema,
}).superRefine(oneProgramForm, {
  // Run even when either form failed on its own: an initial_prompt of wildcards alone beside modules
  // was told only that its messages are required, and adding them met this refusal next.
  when: (payload) => {
    const v = payload.value as { modules?: unknown; initial_prompt?: unknown } | null;
    return typeof v === 'object' && v !== null && v.modules !== undefined && v.initial_prompt !== undefined;
  },
}).superRefine((v, ctx) => {
  // Runs beside other problems (evenBesideOtherProblems), so each part reads only what parsed.
  const mipro: Record<string, unknown> = isPlainObject(v.mipro) ? v.mipro : {};
  const proposer: Record<string, unknown> = isPlainObject(mipro.proposer) ? mipro.proposer : {};
  // Demos only, with no room for a demo: no proposal could ever be made, and the job would sit still.
  if (proposer.mode === 'demos_only' && mipro.max_demos === 0) {
    ctx.addIssue({ code: 'custom', path: ['mipro', 'max_demos'], message: 'must be at least 1 with proposer.mode "demos_only" (no demo set could be proposed)' });
  }
  const main = InitialPromptSchema.safeParse(v.initial_prompt).success ? baselineFromConfig(v as JobConfig) : null;
  const problem = main === null ? null : templateProblem(parseTemplate(main));
  if (problem) ctx.addIssue({ code: 'custom', path: ['initial_prompt', 'messages'], message: problem });
  // The cap is read only while a job discovers its modules, which a job that declares them never
  // does: accepted there, it would look like a bound on the program that nothing enforces.
  if (mipro.max_modules !== undefined && (v.modules !== undefined || main !== null)) {
    const declared = v.modules !== undefined ? 'modules' : 'initial_prompt (its system pattern is module "main")';
    ctx.addIssue({
      code: 'custom', path: ['mipro', 'max_modules'],
      message: `must not be given with ${declared}: it only bounds module discovery, which a job with declared modules does not do; remove it`,
    });
  }
}, evenBesideOtherProblems).transform((v) => ({ ...v, mipro: { ...v.mipro, max_modules: v.mipro.max_modules ?? DEFAULT_MAX_MODULES } }));

export type JobConfig = z.infer<typeof JobConfigSchema>;
export type JobPolicy = z.infer<typeof PolicySchema>;
export type JobProposer = z.infer<typeof ProposerSchema>;

/** A stored job's config as every reader may use it: later defaults filled, later limits applied. */
export function readStoredConfig(config: JobConfig): JobConfig {
  return withinLaterLimits(withLaterDefaults(config));
}

/**
 * A config stored before a limit existed may hold a value refused since. Read, not rewritten (the
 * stored text stays what the client sent): max_rollouts above MAX_INT4 (refused at creation since)
 * made every reward a 500 on PostgreSQL, which compares it with a 32-bit count; read as MAX_INT4, a
 * budget that is never reached either, so the job behaves as it did on SQLite.
 */
function withinLaterLimits(config: JobConfig): JobConfig {
  const budget = config.mipro.max_rollouts;
  if (budget === undefined || budget <= MAX_INT4) return config;
  return { ...config, mipro: { ...config.mipro, max_rollouts: MAX_INT4 } };
}

/**
 * A config stored by an earlier release lacks fields added since (their defaults applied at
 * parse time then): fill them, so every reader sees a complete config.
 */
function withLaterDefaults(config: JobConfig): JobConfig {
  if (config.mipro.max_modules !== undefined && config.mipro.reward_range !== undefined && config.mipro.guard !== undefined
    && config.mipro.max_demos !== undefined && config.mipro.proposer.mode !== undefined) return config;
  // reward_range: migration 0006_reward_range writes one into every older job's config; [0, 1] is
  // only the fallback for a config that somehow lacks it.
  return {
    ...config,
    mipro: {
      ...config.mipro, max_modules: config.mipro.max_modules ?? DEFAULT_MAX_MODULES, reward_range: config.mipro.reward_range ?? [0, 1], guard: config.mipro.guard ?? 'alert',
      max_demos: config.mipro.max_demos ?? DEFAULT_MAX_DEMOS,
      proposer: { ...config.mipro.proposer, mode: config.mipro.proposer.mode ?? 'instruction_only' },
    },
  };
}

/**
 * The program's declared modules: `modules`, or `initial_prompt`'s system pattern as the one module
 * `main`. Empty when the job discovers its modules from traffic.
 */
export function declaredModules(config: JobConfig): ProgramModule[] {
  if (config.modules) return config.modules.map((m) => ({ name: m.name, template: m.template }));
  const main = baselineFromConfig(config);
  return main === null ? [] : [{ name: 'main', template: main }];
}

/** The baseline instruction named by the config: the system pattern of `initial_prompt`, if any. */
export function baselineFromConfig(config: JobConfig): string | null {
  const messages = [...(config.initial_prompt?.messages ?? [])].sort((a, b) => (a.order ?? 0) - (b.order ?? 0));
  const system = messages.find((m) => m.role === 'system' || m.role === 'developer');
  return system ? system.pattern : null;
}
