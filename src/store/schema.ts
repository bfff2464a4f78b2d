/** Table shapes as kysely sees them. JSON columns are text on both dialects; booleans are 0/1 ints. */
export interface TenantsTable { id: string; name: string; created_at: string }

export interface ApiKeysTable {
  id: string; tenant_id: string; name: string; key_hash: string; prefix: string;
  created_at: string; revoked_at: string | null;
}

type Counter = number | string;

export interface JobsTable {
  id: string; tenant_id: string; system_id: string; status: string; config: string;
  baseline_instruction: string | null; correlation_id: string | null; metadata: string;
  dataset_summary: string | null;
  event_seq: number; proposal_seq: number; rollout_count: number; reward_count: number;
  rewards_since_proposal: number; best_candidate_id: string | null; served_candidate_id: string | null;
  /** Usage counters (bigint: PostgreSQL returns them as strings). */
  policy_calls: Counter; policy_prompt_tokens: Counter; policy_completion_tokens: Counter; policy_total_tokens: Counter;
  proposer_calls: Counter; proposer_prompt_tokens: Counter; proposer_completion_tokens: Counter; proposer_total_tokens: Counter;
  /** The candidate the guard tripped for (migration 0008_guard); null: not tripped. */
  guard_tripped_candidate_id: string | null;
  created_at: string; updated_at: string;
  /** When DELETE marked the job (migration 0015_job_deletion); null: not deleted. A marked job is found by no read. */
  deleted_at: string | null;
}

export interface CandidatesTable {
  job_id: string; id: string; parent_id: string | null; status: string; instruction: string;
  tip: string | null; proposal_id: string | null; ordinal: number; dispatches: number;
  online_n: number; online_mean: number; online_m2: number; unit_rewards: number;
  val_n: number; val_mean: number; val_m2: number;
  /** Rewards after the job ended (split monitor), for the guard (migration 0008_guard). */
  monitor_n: number; monitor_mean: number; monitor_m2: number; monitor_unit: number;
  created_at: string; retired_at: string | null;
  /** The module this candidate changed; null for the baseline. */
  module: string | null;
  /** JSON {module: instruction}: the modules this candidate sets; the others keep their template. */
  instructions: string;
  /** When the candidate was first flagged for losing more rewards than the control (its event's guard). */
  missing_flagged_at: string | null;
  /** JSON {module: [{input, output, rollout_id}]}: the candidate's ordered demo sets (migration 0010_demos). */
  demos: string;
}

export interface ModulesTable {
  job_id: string; name: string; template: string; ordinal: number; origin: string; created_at: string;
}

export interface RolloutCallsTable {
  job_id: string; rollout_id: string; seq: number; module: string | null; input_messages: string | null;
  variables: string | null; output_text: string | null; latency_ms: number | null; usage: string | null;
  failed: number; created_at: string;
  /** How many tool calls the answer held (migration 0012_call_tool_calls; 0 for calls recorded before it). */
  tool_calls: number;
  /** 1: the call was sent its own system text, which the record cannot rebuild (migration 0014_call_own_system_text). */
  own_system_text: number;
}

export interface UnmatchedPromptsTable { job_id: string; text_hash: string; created_at: string }

export interface RolloutsTable {
  job_id: string; id: string; candidate_id: string; seed: number | null; split: string;
  correlation_id: string | null; status: string; input_messages: string | null; output_text: string | null;
  latency_ms: number | null; usage: string | null; call_count: number; reward: number | null;
  created_at: string; updated_at: string;
}

export interface RewardsTable {
  job_id: string; rollout_id: string; candidate_id: string; reward: number; split: string;
  seed: number | null; metadata: string | null; created_at: string;
  /** reward_info.feedback and JSON reward_info.feedback_by_module (migration 0010_demos). */
  feedback: string | null; feedback_by_module: string | null;
}

export interface ProposalsTable {
  job_id: string; id: string; seq: number; parent_id: string; tip: string; status: string;
  prompt: string; response: string | null; error: string | null; candidate_ids: string;
  lease_until: string; created_at: string; finished_at: string | null; module: string | null;
}

export interface EventsTable {
  job_id: string; seq: number; event_type: string; message: string; data: string; created_at: string;
}

export interface Database {
  tenants: TenantsTable;
  api_keys: ApiKeysTable;
  jobs: JobsTable;
  candidates: CandidatesTable;
  rollouts: RolloutsTable;
  rewards: RewardsTable;
  proposals: ProposalsTable;
  events: EventsTable;
  modules: ModulesTable;
  rollout_calls: RolloutCallsTable;
  unmatched_prompts: UnmatchedPromptsTable;
}

/**
 * The name of every table of `Database` (a missing or extra one fails the typecheck), for telling
 * miprox's tables gone from the file (unavailable.ts) from a statement naming a table that never was.
 */
const TABLE_NAMES: Record<keyof Database, true> = {
  tenants: true, api_keys: true, jobs: true, candidates: true, rollouts: true, rewards: true,
  proposals: true, events: true, modules: true, rollout_calls: true, unmatched_prompts: true,
};
export const MIPROX_TABLES: readonly string[] = Object.keys(TABLE_NAMES);
