/** The pure optimizer core: plain data in, decisions out. No I/O, no clock, no global randomness. */
export type { CandidateStatus, CandidateView, Interval, RunningStats } from './types.js';
export {
  addObservation,
  emptyStats,
  mergeStats,
  posteriorMean,
  posteriorOf,
  rewardModelFor,
  samplePosterior,
  sampleVariance,
  statsOf,
  UNIFORM_BETA,
  type NormalPrior,
  type Posterior,
  type RewardModel,
} from './statistics.js';
export { sampleBeta, sampleGamma, sampleNormal, sampleStandardNormal } from './sampling.js';
export {
  confidenceSequence,
  csRadius,
  DEFAULT_CS_TUNE_AT,
  fixedInterval,
  normalQuantile,
  tInterval,
  tQuantile,
  wilsonInterval,
  type ConfidenceSequenceOptions,
} from './confidence.js';
export {
  DEFAULT_CONTROL_FLOOR,
  identificationPick,
  IDENTIFY_EPSILON,
  IDENTIFY_Z,
  returnStintSlot,
  selectCandidate,
  type Selection,
  type SelectionCandidate,
  type SelectionInput,
  type SelectionReason,
  type Stint,
} from './selection.js';
export {
  candidateAlpha,
  candidatesToRetire,
  DEFAULT_RETIREMENT_DELTA,
  type RetirementCandidate,
  type RetirementOptions,
} from './retirement.js';
export {
  bestScore,
  confirmationTargets,
  DEFAULT_PRIOR_STRENGTH,
  liftOverControl,
  pickChampion,
  rankCandidates,
  shrinkageModel,
  shrunkenMeans,
  type BestScore,
  type ChampionCandidate,
  type ChampionOptions,
  type Lift,
  type LiftSide,
  type ScoredCandidate,
} from './champion.js';
export {
  childrenBeingMeasured,
  measuredRewards,
  chooseParent,
  proposalDecision,
  type MeasuredCandidate,
  type ParentCandidate,
  type ProposalDecision,
  type ProposalTriggerInput,
} from './proposalTrigger.js';
export {
  chooseTip,
  initialTipStats,
  isTipId,
  TIP_IDS,
  TIP_TEXTS,
  tipOutcome,
  updateTipStats,
  type TipId,
  type TipRecord,
  type TipStats,
} from './tips.js';
export {
  buildDatasetSummaryPrompt,
  buildProposerPrompt,
  DEFAULT_MAX_INSTRUCTION_LENGTH,
  selectReflectionRollouts,
  type ObservedRollout,
  type ProposerMessage,
  type ProposerPromptInput,
  type ScoredInstruction,
} from './proposerPrompt.js';
export { parseProposals, type ParseContext, type ParsedProposals, type Rejection } from './proposalParser.js';
export {
  DEFAULT_VAL_EVERY,
  nextSeed,
  nextValWork,
  type SeedAssignment,
  type SeedSchedulerState,
  type SeedSplit,
  type ValConfirmation,
} from './seedScheduler.js';
export { contemporaneousSeeds, MAX_RUNS_BETWEEN, type RunTimes } from './valPairs.js';
export { extractPlaceholders, normalizeInstruction, renderInput, truncate } from './text.js';
