import { z } from 'zod';

/**
 * The JSON the miprox API answers, as the SDK reads it (SPEC.md). The SDK imports nothing from the
 * server, so these schemas are the client's own view of the contract: fields the SDK relies on are
 * required (a server that drops one is a loud ResponseFormatError, not a silent undefined), while
 * objects stay loose so fields added later pass through untouched.
 */

const Interval = z.tuple([z.number(), z.number()]);
/** Absent and null mean the same to a reader; normalise to null so callers test one thing. */
const nullable = <T extends z.ZodType>(schema: T) => schema.nullish().transform((v) => v ?? null);
const JsonObject = z.record(z.string(), z.unknown());
/** A program: each module's instruction text, by module name. */
const Program = z.record(z.string(), z.string());

export const JOB_STATUSES = ['running', 'paused', 'succeeded', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];
/** Statuses after which a job never changes again (public clients also send the spellings on the right). */
export const TERMINAL_JOB_STATUSES: readonly string[] = ['succeeded', 'failed', 'cancelled', 'completed', 'canceled'];
export const isTerminalStatus = (status: string): boolean => TERMINAL_JOB_STATUSES.includes(status);

/** `monitor`: a rollout after the job ended (the seed scheduler's monitoring rollouts), never counted. */
export const SPLITS = ['bootstrap', 'online', 'val', 'monitor'] as const;
export type Split = (typeof SPLITS)[number];

export const CandidateSchema = z.looseObject({
  candidate_id: z.string(),
  system_id: nullable(z.string()),
  parent_id: nullable(z.string()),
  status: z.string(),
  /** The changed module's text (the baseline's: its first module's); the one-prompt clients' field. */
  instruction: nullable(z.string()),
  /** The module this candidate changed; null for the baseline (and a whole program added by hand). */
  module: nullable(z.string()),
  /** Every module this candidate changed itself ([] for the baseline; absent from servers before it). */
  changed_modules: z.array(z.string()).optional(),
  /** The whole program: every module's text in this candidate. */
  instructions: Program,
  /** Per module the ordered demos injected after the system text (absent from servers before demos). */
  demos: z.record(z.string(), z.array(z.looseObject({
    input: z.array(z.looseObject({ role: z.string(), content: z.string() })), output: z.string(), rollout_id: z.string(),
    /** A templated module's demo: the values its call was rendered with (absent for a plain module). */
    variables: z.record(z.string(), z.string()).optional(),
  }))).optional(),
  rollout_count: z.number(),
  reward_count: z.number(),
  avg_reward: nullable(z.number()),
  ci: nullable(Interval),
  val_score: nullable(z.number()),
  val_count: z.number().optional(),
  val_ci: nullable(Interval).optional(),
  /** Distinct seeds behind `ci` (its interval counts seeds, not rollouts, when rewards carry seeds); older servers omit it. */
  n_seeds: z.number().optional(),
  /**
   * Share of its rollouts past the in-flight expiry that never got a reward; null before any
   * (docs/API.md, "Missing rewards"). Older servers omit it.
   */
  missing_reward_rate: z.number().nullable().optional(),
  /** It loses significantly more rewards than the control, so it cannot be champion meanwhile; older servers omit it. */
  missing_rewards_flagged: z.boolean().optional(),
  /** The proposer's tip behind it (`demos` for a demo-set proposal); null for the baseline and warm starts. */
  tip: nullable(z.string()),
  /** The proposal that made it; null for the baseline and warm starts. */
  proposal_id: nullable(z.string()),
  /** When it was retired (status `retired`); null while active. */
  retired_at: nullable(z.string()),
  created_at: z.string(),
});
export type Candidate = z.infer<typeof CandidateSchema>;

/** A module of a job's program: declared in the config, or discovered from traffic. */
export const ModuleSchema = z.looseObject({
  name: z.string(),
  template: z.string(),
  origin: z.string(),
});
export type ProgramModule = z.infer<typeof ModuleSchema>;

export const UsageTotalsSchema = z.looseObject({
  prompt_tokens: z.number(), completion_tokens: z.number(), total_tokens: z.number(), calls: z.number(),
});

/** A job as GET /jobs/{id} and the online-session routes describe it. */
export const JobSchema = z.looseObject({
  job_id: z.string(),
  /** The job's label (`name` or `system.name` at creation); older servers omit it. */
  name: z.string().nullish().transform((v) => v ?? null),
  status: z.string(),
  system_id: z.string(),
  session_id: z.string(),
  proxy_url: z.string(),
  online_url: z.string(),
  chat_completions_url: z.string(),
  best_score: nullable(z.number()),
  best_score_ci: nullable(Interval),
  best_score_source: nullable(z.string()),
  /** How many rewards best_score's interval rests on (older servers omit it). */
  best_score_n: z.number().optional(),
  /** Distinct seeds behind best_score: repeated rollouts of one seed count once in its interval (older servers omit it). */
  best_score_n_seeds: z.number().optional(),
  best_candidate_id: nullable(z.string()),
  /** The best candidate's first module's text: the whole answer for one-module jobs only. */
  best_prompt: nullable(z.string()),
  /** The best candidate's whole program, module by module. */
  best_program: nullable(Program),
  /** The program's modules in creation order (empty until a discovering job sees its first call). */
  modules: z.array(ModuleSchema),
  /** Distinct system texts that matched no module: their calls passed through unoptimized (older servers omit it). */
  unmatched_prompts: z.number().optional(),
  /** The job's declared reward scale (`mipro.reward_range`); older servers omit it. */
  reward_range: Interval.optional(),
  /** What a finished job's proxy URL serves (its champion, what was promoted, or the baseline); null while it runs. */
  served_candidate_id: nullable(z.string()),
  /** mipro.guard after the end: what it watches and whether it tripped (older servers omit it). */
  guard: z.looseObject({
    /** off | alert | revert */
    mode: z.string(),
    /** watching | tripped | off | not_serving (the job still runs: nothing single is served yet) */
    state: z.string(),
    /**
     * Whether the watched candidate's monitored rewards can trip it: false when its confirmed score's
     * lower bound is the bottom of the reward range (too few rewards measured it), or it has none. Older servers omit it.
     */
    can_trip: z.boolean().optional(),
    /** What the guard watches, or the candidate it tripped for; null while the job runs. */
    candidate_id: nullable(z.string()),
    /** What the job serves now (after a revert: the baseline, while candidate_id names the tripped one). Older servers omit it. */
    served_candidate_id: z.string().nullish().transform((v) => v ?? null),
    /** When the guard tripped (its event's time); null unless tripped. Older servers omit it. */
    tripped_at: z.string().nullish().transform((v) => v ?? null),
    monitored: z.looseObject({ n: z.number(), mean: nullable(z.number()), ci: nullable(Interval) }),
    confirmed: nullable(z.looseObject({ score: z.number(), ci: nullable(Interval), source: z.string() })),
  }).optional(),
  baseline_score: nullable(z.number()),
  /** Champion minus control, in reward units; `source` says from what (val pairs or online rewards). Null without both. */
  lift_over_baseline: nullable(z.looseObject({
    estimate: z.number(), ci: Interval, paired: z.boolean(), source: z.string(), significant: z.boolean(),
    /** Pairs it was computed on (paired), or the smaller side's observations; older servers omit it. */
    n: z.number().optional(),
  })),
  rollout_count: z.number(),
  reward_count: z.number(),
  proposal_seq: z.number(),
  /** Proposals that ended `failed` (older servers omit it). */
  failed_proposals: z.number().optional(),
  /** The newest proposal without its prompt and answer; null before the first (older servers omit it). */
  last_proposal: z.looseObject({
    proposal_id: z.string(), seq: z.number(), module: nullable(z.string()), status: z.string(), error: nullable(z.string()),
    candidate_ids: z.array(z.string()), created_at: z.string(), finished_at: nullable(z.string()),
  }).nullish().transform((v) => v ?? null),
  /**
   * Why no proposal can add a candidate any more: `max_candidates` (mipro.online_proposer_max_candidates),
   * `max_calls` or `max_total_tokens` (the proposer's spend caps); null while proposals can go on (older servers omit it).
   */
  proposals_stopped: z.looseObject({ reason: z.string(), limit: z.number(), message: z.string() }).nullish().transform((v) => v ?? null),
  phase: nullable(z.string()),
  candidate_count: z.number().optional(),
  /** The rollout budget (`mipro.max_rollouts`) when the server reports it; drives the CLI's progress bar. */
  max_rollouts: nullable(z.number()),
  /** Tokens and calls the providers reported (policy: the proxied calls; proposer: its own); older servers omit it. */
  usage: z.looseObject({ policy: UsageTotalsSchema, proposer: UsageTotalsSchema }).optional(),
  /** Omitted in job listings. */
  candidates: z.array(CandidateSchema).optional(),
  correlation_id: nullable(z.string()),
  metadata: JsonObject.nullish().transform((v) => v ?? {}),
  created_at: z.string(),
  updated_at: z.string(),
});
export type Job = z.infer<typeof JobSchema>;
/** The guard's state in a job view (mipro.guard; see docs/API.md "Guard"). */
export type JobGuard = NonNullable<Job['guard']>;
/** Online sessions are the same job underneath (`session_id` = `system_id`). */
export const SessionStatusSchema = JobSchema;
export type SessionStatus = Job;

export const EXPORT_FORMATS = ['json', 'messages', 'dspy'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

const ExportedDemo = z.looseObject({
  input: z.array(z.looseObject({ role: z.enum(['user', 'assistant']), content: z.string() })), output: z.string(), rollout_id: nullable(z.string()).optional(),
  /** A templated module's demo: its value of each placeholder (absent for a plain module). */
  variables: z.record(z.string(), z.string()).optional(),
});
export type ExportedDemo = z.infer<typeof ExportedDemo>;

/** One module of a `format=json` export. */
const ExportedModuleSchema = z.looseObject({
  name: z.string(), template: z.string(), placeholders: z.array(z.string()), baseline_template: z.string(), changed: z.boolean(),
  /** The module's demos in order (absent from servers before demos). */
  demos: z.array(ExportedDemo).optional(),
  /** Demos of the candidate a warm start would refuse (collected by an older release), left out of `demos`: which and why. */
  demos_left_out: z.array(z.looseObject({ index: z.number(), rollout_id: z.string(), reason: z.string() })).optional(),
});
type ExportedModule = z.infer<typeof ExportedModuleSchema>;

/** `GET .../export?format=json|messages`: a program as the proxy renders it (each template is filled with the call's variables). */
export const RenderedProgramSchema = z.looseObject({
  job_id: z.string(),
  candidate_id: z.string(),
  format: z.enum(['json', 'messages']),
  /** Whether this is what the finished job serves. */
  served: z.boolean(),
  /** `json`: per module its template, placeholders and whether the candidate changed it; `messages`: per module the system messages. */
  modules: z.union([
    z.array(ExportedModuleSchema),
    z.record(z.string(), z.array(z.looseObject({ role: z.string(), content: z.string() }))),
  ]),
  policy: z.looseObject({ model: z.string(), provider: z.string() }).optional(),
});
export type RenderedProgram = z.infer<typeof RenderedProgramSchema>;

/** One predictor's state in a DSPy program state file (`program.save("x.json")`). */
export const DspyPredictorStateSchema = z.looseObject({
  traces: z.array(z.unknown()),
  train: z.array(z.unknown()),
  demos: z.array(z.record(z.string(), z.unknown())),
  signature: z.looseObject({ instructions: z.string(), fields: z.array(z.looseObject({ prefix: z.string(), description: z.string() })) }),
  lm: z.null(),
});

/**
 * `GET .../export?format=dspy`: a DSPy program state, loadable with `program.load(path)`: one
 * predictor per module (named after it) beside `metadata`, where miprox keeps which job and candidate it is.
 */
export const DspyProgramStateSchema = z.object({
  metadata: z.looseObject({
    dependency_versions: z.record(z.string(), z.string()),
    miprox: z.looseObject({
      job_id: z.string(), candidate_id: z.string(), format: z.literal('dspy'), served: z.boolean(),
      /** Per module, the placeholders its text needs as DSPy input fields (the saved signatures list no fields). Older servers omit it. */
      input_fields: z.record(z.string(), z.array(z.string())).optional(),
    }),
  }),
}).catchall(DspyPredictorStateSchema);
export type DspyProgramState = z.infer<typeof DspyProgramStateSchema>;

export const ProgramExportSchema = z.union([RenderedProgramSchema, DspyProgramStateSchema]);
export type ProgramExport = z.infer<typeof ProgramExportSchema>;

/**
 * The modules of the job a program is imported into (its status or job view: `await next.status()`).
 * Given to exportedInstructions / exportedProgram, each exported module goes to the module of the
 * target that is the same prompt: a discovered module's name (`m1`, `m2`, ...) says only in which order
 * its job first saw the prompts, so another job may give the same prompt another name.
 */
export interface ProgramTarget { modules: ReadonlyArray<{ name: string; template: string; origin?: string }> }

/**
 * The export's modules with the name each has in the target job: a module of the same name, unless
 * that one was discovered from another prompt; else the module whose template is the exported
 * module's baseline. A changed module without one is an error; an unchanged one changes nothing and
 * is left out. `text`: whether the module's text goes along; not when the candidate kept its job's
 * baseline text (unchanged, or only its demos changed) and the target's module has another prompt:
 * it would bring back the old job's baseline there. Without a target, every module keeps its name.
 */
function placedModules(e: ProgramExport, target: ProgramTarget | undefined): { name: string; module: ExportedModule; text: boolean }[] {
  if (!('format' in e) || e.format !== 'json' || !Array.isArray(e.modules)) throw new Error('exportedInstructions needs an export with format=json');
  const modules: ExportedModule[] = e.modules;
  if (!target) return modules.map((m) => ({ name: m.name, module: m, text: true }));
  const placed: { name: string; module: ExportedModule; text: boolean }[] = [];
  for (const m of modules) {
    const same = target.modules.find((t) => t.name === m.name);
    const name = same && (same.origin !== 'discovered' || same.template === m.baseline_template)
      ? same.name
      : target.modules.find((t) => t.template === m.baseline_template)?.name;
    // A text the candidate did not change only repeats its own job's baseline. On a target module with
    // another prompt it would replace that job's own prompt with the old one (an edit nobody made, and
    // a 422 when their placeholders differ): left out, that module keeps the target's baseline text.
    const text = m.template !== m.baseline_template || !target.modules.some((t) => t.name === name && t.template !== m.baseline_template);
    if (!text && !m.changed) continue;
    const taken = placed.find((p) => p.name === name);
    if (taken !== undefined && !sameProgramPart(taken.module, m)) {
      // Two exported modules land on one target module. An unchanged one only repeats its own job's
      // baseline: the changed one is the edit to carry over, whichever came first.
      if (taken.module.changed && m.changed) {
        // One target module cannot take two edits: keeping either would drop the other in silence.
        throw new Error(`modules ${taken.module.name} and ${m.name} of the export both go to module ${name} of the target job (the same name or the same prompt), with different texts or demos: warm-start them one at a time with addCandidate({module, instruction})`);
      }
      if (m.changed) Object.assign(taken, { module: m, text });
    } else if (name !== undefined) {
      if (taken === undefined) placed.push({ name, module: m, text });
    } else if (m.changed) {
      const prompt = m.baseline_template.length > 80 ? `${m.baseline_template.slice(0, 80)}...` : m.baseline_template;
      throw new Error(`module ${m.name} of the export (the prompt ${JSON.stringify(prompt)}) is no module of the target job (modules: ${target.modules.map((t) => t.name).join(', ') || 'none yet'}): send that prompt through the job's proxy first, or declare it`);
    }
  }
  return placed;
}

function sameProgramPart(a: ExportedModule, b: ExportedModule): boolean {
  return a.template === b.template && JSON.stringify(a.demos ?? []) === JSON.stringify(b.demos ?? []);
}

/**
 * A `format=json` export as the body of a warm start (`session.addCandidate`): every module's text by
 * name, to go on from that program in another job. With `target` (the other job's status), each text
 * goes to the target's module of the same prompt (see ProgramTarget). Other formats carry no
 * templates: an error.
 */
export function exportedInstructions(e: ProgramExport, target?: ProgramTarget): Record<string, string> {
  return Object.fromEntries(placedModules(e, target).filter(({ text }) => text).map(({ name, module }) => [name, module.template]));
}

/**
 * A `format=json` export as a whole warm-start body: every module's text and, where the program has
 * them, its demos (`next.addCandidate(exportedProgram(await other.exportPrompt(), await next.status()))`).
 */
export function exportedProgram(e: ProgramExport, target?: ProgramTarget): { instructions: Record<string, string>; demos?: Record<string, ExportedDemo[]> } {
  const placed = placedModules(e, target);
  const instructions = Object.fromEntries(placed.filter(({ text }) => text).map(({ name, module }) => [name, module.template]));
  // Only what a warm start takes: the server's demo shape is closed, and an export may carry more.
  // A templated module's demo keeps its variables: the server refuses such a demo without them.
  const demos = Object.fromEntries(placed.filter(({ module }) => (module.demos?.length ?? 0) > 0).map(({ name, module }) => [name, module.demos!.map((d) => ({
    input: d.input.map((t) => ({ role: t.role, content: t.content })), output: d.output, ...(d.variables !== undefined ? { variables: d.variables } : {}),
  }))]));
  return Object.keys(demos).length > 0 ? { instructions, demos } : { instructions };
}

/** Which candidate an export holds, whatever its format. */
export function exportedCandidateId(e: ProgramExport): string {
  return 'candidate_id' in e && typeof e.candidate_id === 'string' ? e.candidate_id : (e as DspyProgramState).metadata.miprox.candidate_id;
}

/** A page of the list routes: `{items, next_cursor}`. */
export const pageOf = <T extends z.ZodType>(item: T) =>
  z.looseObject({ items: z.array(item), next_cursor: nullable(z.string()) });
export interface Page<T> { items: T[]; next_cursor: string | null }

export const JobPageSchema = pageOf(JobSchema);

/** DELETE .../jobs/{id}: the job and every row of it are gone (docs/API.md, "Deleting a job"). */
export const JobDeletedSchema = z.looseObject({ id: z.string(), deleted: z.literal(true) });
export type JobDeleted = z.infer<typeof JobDeletedSchema>;
export const CandidatePageSchema = pageOf(CandidateSchema);

export const PromptUrlsSchema = z.looseObject({
  online_url: z.string(),
  proxy_url: z.string(),
  chat_completions_url: z.string(),
  correlation_id: nullable(z.string()),
});
export type PromptUrls = z.infer<typeof PromptUrlsSchema>;

export const RewardResultSchema = z.looseObject({
  status: z.string(),
  rollout_id: nullable(z.string()),
  candidate_id: z.string(),
  reward: z.number(),
  duplicate: z.boolean(),
  /** Where it was stored: `monitor` after the end (or past max_rollouts): not counted. Absent from older servers. */
  split: z.string().optional(),
  job_status: z.string().optional(),
  /** What was done to the feedback without refusing the reward (a discovering job's unknown module names); absent when nothing. */
  warnings: z.array(z.looseObject({ path: z.string(), message: z.string() })).optional(),
});
export type RewardResult = z.infer<typeof RewardResultSchema>;

export const EventSchema = z.looseObject({
  seq: z.number(),
  event_type: z.string(),
  message: z.string(),
  data: JsonObject.nullish().transform((v) => v ?? {}),
  created_at: z.string(),
});
export type SessionEvent = z.infer<typeof EventSchema>;
export const EventListSchema = z.looseObject({ events: z.array(EventSchema) });

/** The seed scheduler's answer: which seed to run next, and where to send its LLM calls. */
export const RolloutSchema = z.looseObject({
  rollout_id: z.string(),
  seed: z.number(),
  split: z.enum(SPLITS),
  candidate_id: nullable(z.string()),
  /** The correlation id the rollout was issued with (absent from servers before it). */
  correlation_id: nullable(z.string()).optional(),
  inference_url: z.string(),
  chat_completions_url: z.string(),
});
export type Rollout = z.infer<typeof RolloutSchema>;

export const ProposalSchema = z.looseObject({
  proposal_id: z.string(),
  seq: z.number(),
  parent_id: nullable(z.string()),
  /** The module the proposal changed. */
  module: nullable(z.string()),
  tip: nullable(z.string()),
  status: z.string(),
  candidate_ids: z.array(z.string()),
  prompt: z.unknown(),
  response: nullable(z.string()),
  error: nullable(z.string()),
  created_at: z.string(),
  finished_at: nullable(z.string()),
});
export type Proposal = z.infer<typeof ProposalSchema>;
export const ProposalPageSchema = pageOf(ProposalSchema);

/** One reported reward; seed evaluations are the same records filtered by candidate, split and seed. */
export const RewardRecordSchema = z.looseObject({
  rollout_id: z.string(),
  candidate_id: z.string(),
  seed: nullable(z.number()),
  split: z.string(),
  reward: z.number(),
  /** `reward_info.feedback` and `feedback_by_module`, when the reward carried them. */
  feedback: z.string().optional(),
  feedback_by_module: z.record(z.string(), z.string()).optional(),
  /** The `metadata` the app sent with the reward (older servers omit it). */
  metadata: JsonObject.nullable().optional(),
  created_at: z.string(),
});
export type RewardRecord = z.infer<typeof RewardRecordSchema>;
export const RewardPageSchema = pageOf(RewardRecordSchema);

/** A seed evaluation also names the module of each of its rollout's calls (null: a call that matched none). */
export const SeedEvalSchema = RewardRecordSchema.extend({ modules: z.array(z.string().nullable()) });
export type SeedEval = z.infer<typeof SeedEvalSchema>;
export const SeedEvalPageSchema = pageOf(SeedEvalSchema);

/** One LLM call of a rollout, as the proxy recorded it. */
export const RolloutCallSchema = z.looseObject({
  seq: z.number(),
  /** The module the call was assigned to; null when it passed through untouched. */
  module: nullable(z.string()),
  /**
   * The system text the proxy served the call: the rollout candidate's module text rendered with the
   * call's variables. Null for a call of no module (its own text passed through, not stored), a call
   * that named its module and was sent its own text (the template does not match it; not stored), or
   * once RETENTION_DAYS cleared the variables its text used; older servers omit it.
   */
  system_prompt: z.string().nullable().optional(),
  /**
   * The candidate's demo turns the proxy inserted after the system prompt and any system messages
   * that open `input_messages` (the app's own context), before the rest of them ([] when none; null
   * when unknown: a call of no module, or messages no longer stored); older servers omit it.
   */
  demo_turns: z.array(z.looseObject({ role: z.string(), content: z.unknown() })).nullable().optional(),
  /** The call's messages without its first system message (that is `system_prompt`); a later one is the app's own and stays. */
  input_messages: nullable(z.array(z.unknown())),
  /** The template variables the call was rendered with (captured or sent in `mipro.variables`). */
  variables: z.record(z.string(), z.string()).nullish().transform((v) => v ?? {}),
  output_text: nullable(z.string()),
  /** How many of `output_text`'s last lines are tool calls (`name(arguments)`), 0 for a text answer; older servers omit it. */
  output_tool_calls: z.number().optional(),
  failed: z.boolean(),
  /** The stored record holds only a prefix of some text of the call (docs/API.md, "Stored call text"); older servers omit it. */
  truncated: z.boolean().optional(),
  created_at: z.string(),
});
export type RolloutCall = z.infer<typeof RolloutCallSchema>;

/** A rollout with every call it made (GET /api/systems/{id}/rollouts/{rollout_id}). */
export const RolloutRecordSchema = z.looseObject({
  rollout_id: z.string(),
  candidate_id: z.string(),
  seed: nullable(z.number()),
  split: z.string(),
  status: z.string(),
  reward: nullable(z.number()),
  correlation_id: nullable(z.string()),
  call_count: z.number(),
  calls: z.array(RolloutCallSchema),
  created_at: z.string(),
  updated_at: z.string(),
});
export type RolloutRecord = z.infer<typeof RolloutRecordSchema>;

/** Both error shapes miprox sends: control routes and the proxy's OpenAI-style body. */
export const ErrorBodySchema = z.looseObject({
  error: z.looseObject({
    code: nullable(z.union([z.string(), z.number()])),
    message: nullable(z.string()),
    details: z.array(z.looseObject({ path: z.string().optional(), message: z.string() })).optional(),
    request_id: nullable(z.string()),
  }),
});
