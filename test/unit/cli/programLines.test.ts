import { describe, expect, it } from 'vitest';
import { jobDetailLines, perCallText, programLines, progressLine, unmatchedLines } from '../../../src/cli/jobFormat.js';
import type { Job } from '../../../src/sdk/index.js';

const modules = [
  { name: 'extract', template: 'Extract the entities.', origin: 'declared' as const },
  { name: 'answer', template: 'Answer from:\n{context}', origin: 'declared' as const },
];

describe('jobs show: the best program', () => {
  it('prints every module and marks the ones the best candidate changed', () => {
    const job = { modules, best_candidate_id: 'cand_a', best_program: { extract: 'Extract the entities.', answer: 'Quote it:\n{context}' } } as unknown as Job;
    expect(programLines(job).join('\n')).toContain('best program (cand_a):\n  extract:\n    Extract the entities.\n  answer: (changed)\n    Quote it:\n    {context}');
    const baseline = { ...job, best_candidate_id: 'baseline', best_program: { extract: modules[0]!.template, answer: modules[1]!.template } } as Job;
    expect(programLines(baseline).join('\n')).not.toContain('(changed)');
  });
});

/** A best program that won by a demo set keeps its parent's texts: it read as unchanged everywhere. */
describe('jobs show: a best program with demos', () => {
  it('marks each module with its demo count, beside (changed) when the text changed too', () => {
    const demo = { input: [{ role: 'user', content: 'q' }], output: 'a' };
    const job = {
      modules, best_candidate_id: 'cand_d', best_program: { extract: 'Extract the entities.', answer: 'Quote it:\n{context}' },
      candidates: [
        { candidate_id: 'baseline', demos: {} },
        { candidate_id: 'cand_d', demos: { extract: [demo, demo], answer: [demo] } },
      ],
    } as unknown as Job;
    const text = programLines(job).join('\n');
    expect(text).toContain('  extract: (2 demos)\n    Extract the entities.');
    expect(text).toContain('  answer: (changed, 1 demo)\n    Quote it:');
    const without = { ...job, candidates: [{ candidate_id: 'cand_d', demos: {} }] } as unknown as Job;
    expect(programLines(without).join('\n')).toContain('  extract:\n    Extract the entities.');
  });
});

/**
 * A 16-module program with templates of a few KB printed 80 KB under "best program", nearly all of
 * it templates the best candidate had not changed: its changed texts were lost among them.
 */
describe('jobs show: a large program', () => {
  const long = (name: string) => Array.from({ length: 40 }, (_, i) => `${i + 1}. Rule ${i + 1} for ${name}: answer {"ok": true} politely.`).join('\n');
  const big = Array.from({ length: 16 }, (_, i) => ({ name: `stage_${i}`, template: long(`stage_${i}`), origin: 'declared' as const }));
  const program = Object.fromEntries(big.map((m) => [m.name, m.name === 'stage_5' ? `${long('stage_5')}\nAlso check the date.` : m.template]));
  const job = { job_id: 'pl_big', modules: big, best_candidate_id: 'cand_b', best_program: program } as unknown as Job;
  const text = programLines(job).join('\n');

  it('prints the changed module whole and each unchanged long template as its first lines', () => {
    expect(text).toContain(`  stage_5: (changed)\n${program.stage_5!.split('\n').map((l) => `    ${l}`).join('\n')}`);
    const unchanged = text.split('\n  stage_1:\n')[1]!.split('\n  stage_2:')[0];
    expect(unchanged).toBe([
      '    1. Rule 1 for stage_1: answer {"ok": true} politely.',
      '    2. Rule 2 for stage_1: answer {"ok": true} politely.',
      '    3. Rule 3 for stage_1: answer {"ok": true} politely.',
      `    … text unchanged from its template (${big[1]!.template.length} characters, 40 lines; all of it: miprox jobs export pl_big)`,
    ].join('\n'));
    expect(text.split('\n').length).toBeLessThan(16 * 5 + 40 + 20);
  });
});

describe('jobs show: texts that matched no module', () => {
  const job = (unmatched: number | undefined) => ({
    job_id: 'pl_1', status: 'running', rollout_count: 3, reward_count: 1, proposal_seq: 0, best_score: null, best_candidate_id: null,
    baseline_score: null, served_candidate_id: null, modules, ...(unmatched === undefined ? {} : { unmatched_prompts: unmatched }),
  }) as unknown as Job;

  it('says how many passed through unchanged, and says nothing when none did (or an older server does not tell)', () => {
    expect(jobDetailLines(job(2)).find((l) => l.startsWith('unmatched'))).toMatch(/^unmatched +2 system texts matched no module and passed through unchanged \(listed below; mipro\.module\.unmatched events\)$/);
    expect(jobDetailLines(job(0)).some((l) => l.startsWith('unmatched'))).toBe(false);
    expect(jobDetailLines(job(undefined)).some((l) => l.startsWith('unmatched'))).toBe(false);
  });
});

describe('jobs show: calls of a program without a rollout id', () => {
  const job = { job_id: 'pl_1', status: 'running', rollout_count: 3, reward_count: 1, proposal_seq: 0, best_score: null, best_candidate_id: null,
    baseline_score: null, served_candidate_id: null, modules } as unknown as Job;
  const event = (data: Record<string, unknown>) => ({ seq: 4, event_type: 'mipro.rollout.per_call', message: '', data, created_at: '' });

  it('names the modules and the fix from the job\'s mipro.rollout.per_call event, and says nothing without one', () => {
    const line = jobDetailLines(job, event({ modules: ['extract', 'answer'] })).find((l) => l.startsWith('per-call rollouts'));
    expect(line).toMatch(/^per-call rollouts +calls of modules extract and answer came without a rollout id, each a rollout of its own: one run's stages may get different candidates and its reward credits one call; send every call of a run to its per-rollout URL \(proxy url\/ROLLOUT_ID, SDK rolloutBaseUrl\) or x-mipro-rollout-id \(mipro\.rollout\.per_call event\)$/);
    expect(perCallText(event({}))).toMatch(/^calls of several modules came without a rollout id/);
    expect(jobDetailLines(job).some((l) => l.startsWith('per-call'))).toBe(false);
  });
});

/** A paused job's `serving` line said "- (optimizing)", though a paused job serves its best candidate to new rollouts. */
describe('jobs show: what a job serves', () => {
  const job = (status: string, served: string | null) => ({
    job_id: 'pl_1', status, rollout_count: 3, reward_count: 1, proposal_seq: 0, best_score: null, best_candidate_id: 'cand_b',
    baseline_score: null, served_candidate_id: served, modules,
  }) as unknown as Job;
  const serving = (j: Job) => jobDetailLines(j).find((l) => l.startsWith('serving'));

  it('says optimizing while it runs, the best candidate while paused, and what it serves once ended', () => {
    expect(serving(job('running', null))).toMatch(/^serving +- \(optimizing\)$/);
    expect(serving(job('paused', null))).toMatch(/^serving +cand_b \(paused: the best candidate, to new rollouts\)$/);
    expect(serving(job('succeeded', 'cand_b'))).toMatch(/^serving +cand_b$/);
  });
});

/**
 * `proposals 6` read as six proposals that worked, on a job whose proposer was unreachable (every
 * one failed), and `proposals 10` on a job that had stopped proposing at the default 20 candidates
 * said nothing of the cap. The line now says both; and the lift over the baseline is printed, since
 * best score and baseline score alone could tie on a few val seeds.
 */
describe('jobs show: what became of the proposals, and the lift', () => {
  const base = {
    job_id: 'pl_1', status: 'running', rollout_count: 30, reward_count: 30, proposal_seq: 6, best_score: null, best_candidate_id: 'baseline',
    baseline_score: 0.5, served_candidate_id: null, modules,
  };
  const line = (j: object, key: string) => jobDetailLines(j as unknown as Job).find((l) => l.startsWith(key));

  it('counts the failed ones and quotes the last failure', () => {
    const failing = { ...base, failed_proposals: 6, last_proposal: { proposal_id: 'prop_6', seq: 6, module: 'main', status: 'failed', error: 'openai is unreachable (ECONNREFUSED)', candidate_ids: [], created_at: '', finished_at: '' }, proposals_stopped: null };
    expect(line(failing, 'proposals')).toMatch(/^proposals +6 \(6 failed; the last: openai is unreachable \(ECONNREFUSED\)\)$/);
    const running = { ...failing, failed_proposals: 1, last_proposal: { ...failing.last_proposal, status: 'running', error: null } };
    expect(line(running, 'proposals')).toMatch(/^proposals +6 \(1 failed; one running\)$/);
    expect(progressLine(failing as unknown as Job)).toContain('proposals 6 (6 failed)');
  });

  it('says which cap stopped them', () => {
    const capped = { ...base, proposal_seq: 10, failed_proposals: 0, last_proposal: null, proposals_stopped: { reason: 'max_candidates', limit: 20, message: 'the job holds 20 candidates' } };
    expect(line(capped, 'proposals')).toMatch(/^proposals +10; no more: the job holds 20 candidates$/);
    expect(progressLine(capped as unknown as Job)).toContain('proposals 10 (no more)');
  });

  it('prints the count alone for a server that does not report them', () => {
    expect(line(base, 'proposals')).toMatch(/^proposals +6$/);
  });

  it('prints the lift over the baseline with its interval and whether it is significant', () => {
    const lift = { estimate: 0.336, ci: [-0.326, 0.998], paired: false, source: 'online', significant: false };
    expect(line({ ...base, lift_over_baseline: lift }, 'lift')).toMatch(/^lift +\+0\.336 \[-0\.326, 0\.998\] online, not significant$/);
    expect(line({ ...base, lift_over_baseline: { ...lift, estimate: -0.1, ci: [-0.2, -0.05], paired: true, source: 'val', significant: true } }, 'lift'))
      .toMatch(/^lift +-0\.100 \[-0\.200, -0\.050\] val paired, significant$/);
    // A paired lift says on how many seeds (a server that reports it): fewer than the val seeds behind best score.
    expect(line({ ...base, lift_over_baseline: { ...lift, estimate: -0.143, ci: [-0.5, 0.2], paired: true, source: 'val', n: 7, significant: false } }, 'lift'))
      .toMatch(/^lift +-0\.143 \[-0\.500, 0\.200\] val paired on 7 seeds, not significant$/);
    expect(line({ ...base, lift_over_baseline: null }, 'lift')).toBeUndefined();
  });
});

/** `jobs show` said how many texts matched no module and pointed at events the CLI could not list. */
describe('jobs show: the texts that matched no module', () => {
  const event = (data: Record<string, unknown>) => ({ seq: 1, event_type: 'mipro.module.unmatched', message: '', data, created_at: '' });
  it('lists each text\'s start and the module it nearly follows, or why none', () => {
    const lines = unmatchedLines([
      event({ preview: 'Extract the entities from the question', length: 38, reason: 'no_match', closest: { module: 'extract', reason: 'at character 39 the template has "." where the text ends' } }),
      event({ preview: 'Something else entirely.', length: 24, reason: 'no_match', closest: null }),
      event({ preview: null, length: 40, reason: 'no_match' }),
      event({ preview: 'Doc 9', length: 5, reason: 'max_modules', closest: null }),
    ], 6);
    expect(lines).toEqual([
      'texts that matched no module (4 of 6; their calls went upstream unoptimized):',
      '  "Extract the entities from the question" (38 characters)',
      '    closest module extract: at character 39 the template has "." where the text ends',
      '  "Something else entirely." (24 characters)',
      '    no declared module comes close',
      '  (text cleared by RETENTION_DAYS) (40 characters)',
      '    no declared module comes close',
      '  "Doc 9" (5 characters)',
      '    discovery was full (mipro.max_modules): declare the modules with templates if system texts carry per-request content',
    ]);
    expect(unmatchedLines([event({ preview: 'x', length: 1, reason: 'no_match', closest: null })], 1)[0]).toMatch(/\(all; /);
    // A discovering job below its cap says why in the message: a named discovered module takes only its text.
    const named = { ...event({ preview: 'Use only these passages:\nP2', length: 27, reason: 'no_match', closest: null }),
      message: 'a call\'s system text matched no module and was passed through unchanged (27 characters); it named module "check", which was discovered from another system text and takes only that text: if system texts carry per-request content, declare the modules with templates ({placeholders})' };
    expect(unmatchedLines([named], 1)[2]).toBe('    it named module "check", which was discovered from another system text and takes only that text: if system texts carry per-request content, declare the modules with templates ({placeholders})');
  });

  /**
   * The listing is there to find where a text leaves its template, character for character, and the
   * commonest drift is whitespace: the preview collapsed runs of whitespace into one space and trimmed
   * the ends, so "...Ada.\n" and "...Ada. " both read "...Ada." (exactly the template's rendering)
   * beside "the text does not end as the template does", and a "\n" the reason named showed as a space.
   */
  it("shows each text's characters as they are, whitespace escaped, and the end of a long one", () => {
    const closest = { module: 'extract', reason: 'the text does not end as the template does (".")' };
    const lines = unmatchedLines([
      event({ preview: 'Extract the entities from the query of customer Ada.\n', length: 53, reason: 'no_match', closest }),
      event({ preview: 'Extract the entities from the query of customer Ada. ', length: 53, reason: 'no_match', closest }),
      event({ preview: 'Plan the fix.\nEntities:\tcard\u009b', length: 29, reason: 'no_match', closest: null }),
    ], 3);
    expect(lines[1]).toBe('  "Extract the entities from the query of customer Ada.\\n" (53 characters)');
    expect(lines[3]).toBe('  "Extract the entities from the query of customer Ada. " (53 characters)');
    // Tabs escaped like newlines; a C1 control (U+009B, a CSI) escaped too, never sent raw.
    expect(lines[5]).toBe('  "Plan the fix.\\nEntities:\\tcard\\u009b" (29 characters)');
    // A whole text longer than the line keeps its start and its end, where a trailing difference lies.
    const long = `${'Answer from the retrieved passages only. '.repeat(3)}Cite them.\n\n`;
    const shown = unmatchedLines([event({ preview: long, length: long.length, reason: 'no_match', closest })], 1)[1]!;
    expect(shown).toMatch(/^ {2}"Answer from the retrieved passages only\. Answer from the.*….*Cite them\.\\n\\n" \(135 characters\)$/);
    expect(shown.length).toBeLessThan(130);
    // Only the start of a text longer than its stored preview (200 characters) is known: no tail is made up.
    const head = 'x'.repeat(200);
    expect(unmatchedLines([event({ preview: head, length: 5000, reason: 'no_match', closest: null })], 1)[1]).toMatch(/^ {2}"x+…" \(5000 characters\)$/);
  });
});

/** `jobs show` names the candidates flagged for losing rewards, with their rate beside the control's. */
describe('jobs show: candidates losing rewards', () => {
  const cand = (candidate_id: string, rate: number | null, flagged: boolean) => ({ candidate_id, missing_reward_rate: rate, missing_rewards_flagged: flagged });
  const job = (candidates: unknown[] | undefined) => ({
    job_id: 'pl_1', status: 'running', rollout_count: 80, reward_count: 52, proposal_seq: 0, best_score: 0.5, best_candidate_id: 'baseline',
    baseline_score: 0.5, served_candidate_id: null, modules, candidates,
  }) as unknown as Job;
  const losing = (j: Job) => jobDetailLines(j).filter((l) => /^(losing rewards| +cand_)/.test(l));

  it('lists each flagged candidate with its rate and the control\'s, and nothing when none is flagged', () => {
    expect(losing(job([cand('baseline', 0, false), cand('cand_l', 0.7, true), cand('cand_m', 0.45, true), cand('cand_n', 0.1, false)]))).toEqual([
      'losing rewards  cand_l: 70% of its rollouts got no reward (the control: 0%), so it cannot be champion while the gap lasts',
      '                cand_m: 45% of its rollouts got no reward (the control: 0%), so it cannot be champion while the gap lasts',
    ]);
    expect(losing(job([cand('baseline', 0, false), cand('cand_n', 0.1, false)]))).toEqual([]);
    expect(losing(job(undefined))).toEqual([]);
  });
});
