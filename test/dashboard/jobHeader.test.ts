import { describe, expect, it } from 'vitest';
import { bestScore, guardText, liftText, perCallText, proposalsText, servingText } from '../../web/src/components/jobHeader.js';

describe('job header: lift over baseline', () => {
  it('names the lift\'s source, which may differ from the best and baseline scores\' source', () => {
    // best_score and baseline_score on val (0.000 and 1.000) beside an online lift of +0.328: without
    // its source the header read as if champion minus control were +0.328 on the same numbers.
    expect(liftText({ estimate: 0.3277, ci: [-0.6256, 1], paired: false, source: 'online', n: 40, significant: false })).toBe('+0.328 [−0.626, 1.000] · online');
    expect(liftText({ estimate: 0.1, ci: [0.02, 0.18], paired: true, source: 'val', n: 12, significant: true })).toBe('+0.100 [0.020, 0.180] · val, paired on 12 seeds');
    expect(liftText({ estimate: -0.5, ci: [-1, 0.5], paired: true, source: 'val', n: 1, significant: false })).toBe('−0.500 [−1.000, 0.500] · val, paired on 1 seed');
    expect(liftText(null)).toBe('—');
  });
});

describe('job header: best score', () => {
  it('says how many seeds back the interval when seeds repeat, so n does not overstate the evidence', () => {
    const job = { best_score: 0.6667, best_score_ci: [0.2, 0.95] as [number, number], best_score_source: 'online' as const, best_score_n: 30 };
    // 30 rollouts on 3 seeds: the interval rests on 3 seed means.
    expect(bestScore({ ...job, best_score_n_seeds: 3 })).toBe('0.667 [0.200, 0.950] · online, n=30 on 3 seeds');
    expect(bestScore({ ...job, best_score_n_seeds: 1 })).toBe('0.667 [0.200, 0.950] · online, n=30 on 1 seed');
    // One rollout per seed (or rewards without seeds): n says it all.
    expect(bestScore({ ...job, best_score_n_seeds: 30 })).toBe('0.667 [0.200, 0.950] · online, n=30');
    expect(bestScore({ ...job, best_score: null, best_score_n_seeds: 0 })).toBe('—');
    // Rewards without seeds (calls through the proxy without one): each is an observation, not "0 seeds".
    expect(bestScore({ ...job, best_score_n_seeds: 0 })).toBe('0.667 [0.200, 0.950] · online, n=30');
  });
});

describe('job header: serving', () => {
  it('names the best known candidate a paused job serves, instead of saying it is optimizing', () => {
    // Paused: served_candidate_id is null, and each new rollout is served best_candidate_id.
    expect(servingText({ status: 'paused', served_candidate_id: null, best_candidate_id: 'cand_a', best_score: 0.7 })).toBe('cand_a (paused: the best known candidate)');
    expect(servingText({ status: 'running', served_candidate_id: null, best_candidate_id: 'cand_a', best_score: 0.7 })).toBe('— (optimizing)');
    expect(servingText({ status: 'succeeded', served_candidate_id: 'baseline', best_candidate_id: 'cand_a', best_score: 0.7 })).toBe('baseline');
  });

  it('does not call the baseline of a paused job without rewards its best known candidate', () => {
    expect(servingText({ status: 'paused', served_candidate_id: null, best_candidate_id: 'baseline', best_score: null })).toBe('baseline (paused: no reward yet)');
  });
});

describe('job header: proposals', () => {
  it('says how many failed and why the last did, and which cap ended them', () => {
    // A job whose proposer was unreachable showed "6" and one candidate: nothing said every proposal had failed.
    const last = { proposal_id: 'prop_6', seq: 6, parent_id: 'baseline', module: 'main', status: 'failed' as const, error: 'openai is unreachable (ECONNREFUSED)', candidate_ids: [], created_at: '', finished_at: '' };
    expect(proposalsText({ proposal_seq: 6, failed_proposals: 6, last_proposal: last, proposals_stopped: null })).toBe('6 · 6 failed, the last: openai is unreachable (ECONNREFUSED)');
    expect(proposalsText({ proposal_seq: 9, failed_proposals: 1, last_proposal: { ...last, status: 'succeeded', error: null }, proposals_stopped: null })).toBe('9 · 1 failed');
    expect(proposalsText({ proposal_seq: 1002, failed_proposals: 0, last_proposal: null, proposals_stopped: { reason: 'max_candidates', limit: 20, message: 'the job holds 20 candidates' } }))
      .toBe('1,002 · no more: the job holds 20 candidates');
    expect(proposalsText({ proposal_seq: 1002 })).toBe('1,002'); // an older server
  });
});

describe('job header: guard', () => {
  const guard = {
    mode: 'revert' as const, state: 'watching' as const, can_trip: false, candidate_id: 'cand_few', served_candidate_id: 'cand_few', tripped_at: null,
    monitored: { n: 40, mean: 0, ci: [0, 0.2] as [number, number] }, confirmed: { score: 1, ci: [0, 1] as [number, number], source: 'online' as const },
  };
  it('says a watching guard whose confirmed lower bound is the bottom of the range cannot trip', () => {
    expect(guardText(guard)).toBe('watching (revert) · cand_few: 0.000 [0.000, 0.200] n=40 vs confirmed 1.000 [0.000, 1.000] · cannot trip: confirmed lower bound at the bottom of the range');
    expect(guardText({ ...guard, can_trip: true, confirmed: { ...guard.confirmed, ci: [0.6, 1] } })).toBe('watching (revert) · cand_few: 0.000 [0.000, 0.200] n=40 vs confirmed 1.000 [0.600, 1.000]');
  });

  // A cancelled (or failed) job serves the baseline: its guard watches the baseline, and a trip can
  // only alert. "watching (alert)" read as a guard over a winner; "watching (revert)" promised a revert.
  it('says a cancelled job\'s guard watches the baseline it serves and can only alert', () => {
    const base = { ...guard, mode: 'alert' as const, can_trip: true, candidate_id: 'baseline', served_candidate_id: 'baseline', monitored: { n: 0, mean: null, ci: null }, confirmed: { score: 7, ci: [1.03, 9.79] as [number, number], source: 'val' as const } };
    expect(guardText(base, 2, 'cancelled')).toBe('watching the baseline a cancelled job serves (alert) · baseline: no production rewards yet vs confirmed 7.00 [1.03, 9.79]');
    expect(guardText({ ...base, mode: 'revert' }, 2, 'failed')).toBe('watching the baseline a failed job serves (alert only: the baseline is served already, nothing to revert to) · baseline: no production rewards yet vs confirmed 7.00 [1.03, 9.79]');
    // A succeeded job rolled back to the baseline: the same limit, without the cancel.
    expect(guardText({ ...base, mode: 'revert' }, 2, 'succeeded')).toBe('watching the baseline (alert only: the baseline is served already, nothing to revert to) · baseline: no production rewards yet vs confirmed 7.00 [1.03, 9.79]');
  });
});

describe('job header: per-call rollouts', () => {
  it('names the modules of the job\'s mipro.rollout.per_call event and the fix', () => {
    expect(perCallText({ modules: ['extract', 'answer'] })).toBe("Calls of modules extract and answer came without a rollout id, each a rollout of its own: one run's stages may get different candidates and its reward credits one call. Send every call of a run to its per-rollout URL (the proxy URL/rollout id; SDK rolloutBaseUrl) or with the x-mipro-rollout-id header (rollout.per_call in the event log)");
    // Data cleared or of another shape: still says what happened.
    expect(perCallText(null)).toMatch(/^Calls of several modules came without a rollout id/);
  });
});
