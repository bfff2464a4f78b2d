import { type JobConfig, readStoredConfig } from '../schemas/jobConfig.js';
import { usageFromRow } from './usage.js';
import { demosView, type Demo, type DemoView } from '../optimizer/core/demos.js';
import type { CandidatesTable, EventsTable, JobsTable, ModulesTable, ProposalsTable, RewardsTable, RolloutCallsTable, RolloutsTable } from './schema.js';
import type {
  CandidateMoments, CandidateRecord, CandidateStatus, EventRecord, JobRecord, JobStatus, ModuleRecord, ProposalRecord, RewardRecord, RolloutCallRecord, RolloutRecord, Split,
} from './types.js';

/** Row <-> record mapping, the one place that knows column names and JSON encodings. */

const parseJson = <T>(text: string | null, fallback: T): T => (text === null ? fallback : (JSON.parse(text) as T));

/**
 * A job's config text never changes, and every reward's outcome carries its job row: parsing the
 * same text once per reward was a measurable share of SQLite's reward path. The parsed configs are
 * frozen and shared; a small bound keeps memory flat on servers with many jobs.
 */
const parsedConfigs = new Map<string, JobConfig>();
const MAX_PARSED_CONFIGS = 256;

function parseConfig(text: string): JobConfig {
  let config = parsedConfigs.get(text);
  if (!config) {
    config = deepFreeze(readStoredConfig(JSON.parse(text) as JobConfig));
    if (parsedConfigs.size >= MAX_PARSED_CONFIGS) parsedConfigs.delete(parsedConfigs.keys().next().value as string);
    parsedConfigs.set(text, config);
  }
  return config;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

export function toJob(r: JobsTable): JobRecord {
  return {
    id: r.id,
    tenantId: r.tenant_id,
    systemId: r.system_id,
    status: r.status as JobStatus,
    config: parseConfig(r.config),
    baselineInstruction: r.baseline_instruction,
    correlationId: r.correlation_id,
    metadata: parseJson(r.metadata, {}),
    datasetSummary: r.dataset_summary,
    eventSeq: Number(r.event_seq),
    proposalSeq: Number(r.proposal_seq),
    rolloutCount: Number(r.rollout_count),
    rewardCount: Number(r.reward_count),
    rewardsSinceProposal: Number(r.rewards_since_proposal),
    bestCandidateId: r.best_candidate_id,
    servedCandidateId: r.served_candidate_id ?? null,
    usage: usageFromRow(r),
    guardTrippedCandidateId: r.guard_tripped_candidate_id ?? null,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export function toCandidate(r: CandidatesTable): CandidateRecord {
  return {
    jobId: r.job_id,
    id: r.id,
    parentId: r.parent_id,
    status: r.status as CandidateStatus,
    instruction: r.instruction,
    module: r.module,
    instructions: parseJson(r.instructions, {}),
    demos: demosFromColumn(r.demos),
    tip: r.tip,
    proposalId: r.proposal_id,
    ordinal: Number(r.ordinal),
    dispatches: Number(r.dispatches),
    online: { n: Number(r.online_n), mean: Number(r.online_mean), m2: Number(r.online_m2) },
    rewardsInUnitInterval: Number(r.unit_rewards) === 1,
    val: { n: Number(r.val_n), mean: Number(r.val_mean), m2: Number(r.val_m2) },
    monitor: { n: Number(r.monitor_n), mean: Number(r.monitor_mean), m2: Number(r.monitor_m2) },
    monitorInUnitInterval: Number(r.monitor_unit) === 1,
    createdAt: r.created_at,
    retiredAt: r.retired_at,
  };
}

/** The moment columns a reward's update returns (see MOMENT_COLUMNS). */
export function toMoments(r: Pick<CandidatesTable, (typeof MOMENT_COLUMNS)[number]>): CandidateMoments {
  return {
    online: { n: Number(r.online_n), mean: Number(r.online_mean), m2: Number(r.online_m2) },
    rewardsInUnitInterval: Number(r.unit_rewards) === 1,
    val: { n: Number(r.val_n), mean: Number(r.val_mean), m2: Number(r.val_m2) },
    monitor: { n: Number(r.monitor_n), mean: Number(r.monitor_mean), m2: Number(r.monitor_m2) },
    monitorInUnitInterval: Number(r.monitor_unit) === 1,
  };
}

export const MOMENT_COLUMNS = [
  'online_n', 'online_mean', 'online_m2', 'unit_rewards', 'val_n', 'val_mean', 'val_m2', 'monitor_n', 'monitor_mean', 'monitor_m2', 'monitor_unit',
] as const;

export function toRollout(r: RolloutsTable): RolloutRecord {
  return {
    jobId: r.job_id,
    id: r.id,
    candidateId: r.candidate_id,
    seed: r.seed === null ? null : Number(r.seed),
    split: r.split as Split,
    correlationId: r.correlation_id,
    status: r.status as RolloutRecord['status'],
    inputMessages: parseJson(r.input_messages, null),
    outputText: r.output_text,
    latencyMs: r.latency_ms === null ? null : Number(r.latency_ms),
    usage: parseJson(r.usage, null),
    callCount: Number(r.call_count),
    reward: r.reward === null ? null : Number(r.reward),
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
}

export function toReward(r: RewardsTable): RewardRecord {
  return {
    jobId: r.job_id,
    rolloutId: r.rollout_id,
    candidateId: r.candidate_id,
    reward: Number(r.reward),
    split: r.split as Split,
    seed: r.seed === null ? null : Number(r.seed),
    metadata: parseJson(r.metadata, null),
    feedback: r.feedback ?? null,
    feedbackByModule: parseJson(r.feedback_by_module ?? null, null),
    createdAt: r.created_at,
  };
}

/**
 * Stored as the wire shape ({input, output, rollout_id}, and `variables` on a templated module's
 * demo); the record speaks camelCase. Rows written before demos carried variables have none and
 * load as they were.
 */
function demosFromColumn(text: string | undefined): Record<string, Demo[]> {
  const raw = parseJson<Record<string, DemoView[]>>(text ?? null, {});
  return Object.fromEntries(Object.entries(raw).map(([m, list]) => [m, list.map((d) => (d.variables === undefined
    ? { input: d.input, output: d.output, rolloutId: d.rollout_id }
    : { input: d.input, output: d.output, rolloutId: d.rollout_id, variables: d.variables }))]));
}

export function demosColumn(demos: Readonly<Record<string, readonly Demo[]>> | undefined): string {
  return JSON.stringify(demosView(demos ?? {}));
}

export function toEvent(r: EventsTable): EventRecord {
  return {
    jobId: r.job_id,
    seq: Number(r.seq),
    eventType: r.event_type,
    message: r.message,
    data: parseJson(r.data, {}),
    createdAt: r.created_at,
  };
}

export function toProposal(r: ProposalsTable): ProposalRecord {
  return {
    jobId: r.job_id,
    id: r.id,
    seq: Number(r.seq),
    parentId: r.parent_id,
    module: r.module,
    tip: r.tip,
    status: r.status as ProposalRecord['status'],
    prompt: parseJson(r.prompt, []),
    response: r.response,
    error: r.error,
    candidateIds: parseJson(r.candidate_ids, []),
    leaseUntil: r.lease_until,
    createdAt: r.created_at,
    finishedAt: r.finished_at,
  };
}

export function toModule(r: ModulesTable): ModuleRecord {
  return { name: r.name, template: r.template, ordinal: Number(r.ordinal), origin: r.origin === 'declared' ? 'declared' : 'discovered' };
}

export function toRolloutCall(r: Pick<RolloutCallsTable, 'rollout_id' | 'seq' | 'module' | 'input_messages' | 'variables' | 'output_text' | 'tool_calls' | 'failed' | 'created_at' | 'own_system_text'>): RolloutCallRecord {
  return {
    rolloutId: r.rollout_id,
    seq: Number(r.seq),
    module: r.module,
    inputMessages: parseJson(r.input_messages, null),
    variables: parseJson(r.variables, null),
    outputText: r.output_text,
    toolCalls: Number(r.tool_calls),
    failed: Number(r.failed) === 1,
    createdAt: r.created_at,
    ownSystemText: Number(r.own_system_text) === 1,
  };
}
