import { newCandidateId } from '../../shared/ids.js';
import type { CandidateRecord, ProposalSettlement } from '../../store/types.js';
import { proposalFailedEvent } from '../../store/proposalClosing.js';
import { DUPLICATE, parseProposals } from '../core/proposalParser.js';
import type { ProgramModule } from '../core/modules.js';
import { moduleInstruction, withModuleInstruction } from '../core/program.js';
import { storableUpstreamText } from '../core/text.js';

/** The start of a failed proposal's error when the proposer answered but nothing in it was usable. */
export const NO_USABLE_INSTRUCTION = 'no usable instruction';

/** How an instruction proposal ends, and how loudly a failure is logged. */
export interface InstructionSettlement extends ProposalSettlement {
  level: 'warn' | 'info';
}

/**
 * The end of an instruction proposal, decided on `current`: the job's candidates as they are under
 * its lock when the proposal is written (Store.finishProposal `settle`), so the duplicate rule and
 * the room left count a warm start committed while the proposer answered, on any instance.
 */
export function settleInstructions(p: {
  answer: string; cutOff?: string | null; module: ProgramModule; parent: CandidateRecord; tip: string;
  proposal: { id: string; seq: number }; n: number; maxCandidates: number;
}, current: readonly CandidateRecord[]): InstructionSettlement {
  const { module, parent, tip, proposal } = p;
  const room = p.maxCandidates - current.length;
  const parsed = parseProposals(p.answer, {
    baseline: module.template, existing: current.map((c) => moduleInstruction(c.instructions, module)), n: Math.max(0, Math.min(p.n, room)),
    // A discovered module is a literal text: braces in it or in a proposal are text, not placeholders.
    literal: module.origin === 'discovered',
  });
  if (parsed.accepted.length === 0) {
    // An answer cut at its token limit says so: the fix is the job's proposer.max_tokens, not the prompt.
    const why = [parsed.rejected.map((r) => r.reason).join('; ') || 'empty answer', ...(p.cutOff ? [p.cutOff] : [])].join('; ');
    // Only repeats of instructions already tried: a proposer's normal miss (the event records it),
    // not something an operator must look at, so not a warning (it interrupted the demo's output).
    const onlyRepeats = parsed.rejected.length > 0 && parsed.rejected.every((r) => r.reason === DUPLICATE);
    // The reason may quote the proposer's answer: stored in storable form.
    const error = storableUpstreamText(`${NO_USABLE_INSTRUCTION}: ${why}`);
    return { status: 'failed', error, candidates: [], events: [proposalFailedEvent(proposal.id, proposal.seq, error)], level: onlyRepeats ? 'info' : 'warn' };
  }
  const created = parsed.accepted.map((instruction) => ({
    id: newCandidateId(), parentId: parent.id, instruction, module: module.name,
    // The other part of the module (its demos) and every other module are copied from the parent.
    instructions: withModuleInstruction(parent.instructions, module.name, instruction), demos: parent.demos, tip, proposalId: proposal.id,
  }));
  return {
    status: 'succeeded', error: null, candidates: created, level: 'warn',
    events: [{
      eventType: 'mipro.proposal.created',
      message: `proposal ${proposal.seq}: ${created.length} new candidate(s) from ${parent.id}, module ${module.name} (tip: ${tip})`,
      data: {
        proposal_id: proposal.id, seq: proposal.seq, parent_id: parent.id, module: module.name, tip,
        candidate_ids: created.map((c) => c.id), rejected: parsed.rejected,
      },
    }],
  };
}
