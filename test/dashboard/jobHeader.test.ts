import { describe, expect, it } from 'vitest';
import { bestScore, liftText, servingText } from '../../web/src/components/jobHeader.js';

describe('job header: lift over baseline', () => {
  it('names the lift\'s source, which may differ from the best and baseline scores\' source', () => {
    // best_score and baseline_score on val (0.000 and 1.000) beside an online lift of +0.328: without
    // its source the header read as if champion minus control were +0.328 on the same numbers.
    expect(liftText({ estimate: 0.3277, ci: [-0.6256, 1], paired: false, source: 'online', significant: false })).toBe('+0.328 [−0.626, 1.000] · online');
    expect(liftText({ estimate: 0.1, ci: [0.02, 0.18], paired: true, source: 'val', significant: true })).toBe('+0.100 [0.020, 0.180] · val, paired');
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
  });
});

describe('job header: serving', () => {
  it('names the best known candidate a paused job serves, instead of saying it is optimizing', () => {
    // Paused: served_candidate_id is null, and each new rollout is served best_candidate_id.
    expect(servingText({ status: 'paused', served_candidate_id: null, best_candidate_id: 'cand_a' })).toBe('cand_a (paused: the best known candidate)');
    expect(servingText({ status: 'running', served_candidate_id: null, best_candidate_id: 'cand_a' })).toBe('— (optimizing)');
    expect(servingText({ status: 'succeeded', served_candidate_id: 'baseline', best_candidate_id: 'cand_a' })).toBe('baseline');
  });
});
