/**
 * The prose under the pipeline-3 tables: how to read them and what was tried. Every number here
 * comes from the tuning seeds (replicates 1,000,000 on), so it does not move when the reported
 * tables are regenerated.
 */
export const PIPELINE_NOTES = `
### Reading the results
- Simple regret and identification are against the best program of each run's own pool, so they judge
  selection; **champion true mean** compares what each run delivers on the same worlds, so it also shows
  what the module choice bought.
- The share of proposals to the bottleneck is limited by what is known when the choice is made. A proposal
  waits for 20 rewards (seed request) or 100 (bench CONFIG) and for the previous proposal's children to have
  R/2 rewards each (see "Pacing proposals"), and proposals stop at the candidate cap: 10 proposals in the
  first ~530 rollouts, or 6 in the first 800 or so. \`credit\` tries each module once first, so at most
  80% / 67% can go to the bottleneck, and the later choices rest on children with a handful of rewards: a
  lift's standard error is then 0.15-0.25, while a change to the bottleneck moves the reward by 0.13 on
  average (expected |lift| under the mixture) and a change to a near-perfect module by 0.01.
- miprox's identification shortfalls are noise among near-equal programs, not a retirement or champion
  error (\`npx tsx bench/pipelineDiagnosis.ts\`, the failed runs of miprox (round_robin) in the seed
  request, tuning replicates 1,000,000-1,000,299; see "Why identification stays near 84%" below). The
  oracle, which spends everything on the true top two, shows the ceiling of selection; it never measures
  new children, so it proposes on the reward count alone (without the wait for measured children) and its
  pool, hence its champion true mean, is not comparable with the others'. Thompson's intervals and lifts
  are the naive dashboard's (raw maximum, fixed-n interval): its coverage and null false improvements show
  why miprox reports differently.
- Not measured here: that every call reaches the upstream with its own module's prompt and that unmatched
  calls pass byte-identical. Those are properties of the proxy, verified by the integration tests.

### Pacing proposals (tuning seeds only)
Until session 5 a proposal started as soon as \`online_proposer_min_rollouts\` rewards had come in, so the
seed request spent its whole candidate cap (10 proposals) in the first ~270 rollouts, on children with no
rewards: the parent draw could not pick a child that had won, the proposer saw earlier attempts without
scores, and \`credit\` chose modules on lifts nobody had measured. Now the next proposal also waits until
every active candidate has R/2 rewards or has all of its first R rollouts back
(src/optimizer/core/proposalTrigger.ts \`childrenBeingMeasured\`). Seed request, 300 tuning replicates
(1,000,000-1,000,299), champion true mean / cumulative regret / identification, without -> with the wait:

| setting | miprox (credit) | miprox (round_robin) |
|---|---|---|
| (a) bottleneck | 0.660 -> 0.704 / 213.9 -> 199.3 / 88.0 -> 85.0% | 0.652 -> 0.665 / 232.0 -> 190.8 / 86.0 -> 85.3% |
| (b) all equal | 0.610 -> 0.625 / 222.5 -> 210.6 / 82.7 -> 77.3% | 0.614 -> 0.633 / 222.5 -> 214.2 / 80.3 -> 85.0% |
| (c) interaction 1-3 | 0.588 -> 0.610 / 228.5 -> 215.0 / 84.3 -> 82.7% | 0.591 -> 0.616 / 229.8 -> 221.1 / 84.3 -> 80.0% |
| (d) module 2 called 0-3x | 0.670 -> 0.680 / 217.6 -> 196.7 / 80.7 -> 78.0% | 0.673 -> 0.687 / 229.1 -> 209.7 / 83.7 -> 79.0% |

Bottleneck share in (a) with \`credit\`: 43.5% -> 54.5%. The delivered program and the regret improve in every
cell; identification (against each run's own pool, which is now better and has more close runners-up at the
top) moves by -5 to +5 points, within about 1.5 standard errors of a paired difference at 300 replicates
except (b) credit (-5.4). Variants (150 replicates, (a), credit): waiting for R rewards instead of R/2: share
54.3%, true mean 0.719, identification 82.7%, last proposal at ~950 rollouts instead of ~530; waiting for 2R:
50.3%, 0.649 (a bad child never gets 2R rewards, so proposals stall until ~2,500). With the wait, a more
exploratory module draw loses share (draw spread 1: 51.0%, 1.5: 45.4%, 2.5: 42.2%; 0.25: 55.7%, 0: 54.7%),
and dropping the forced first round too (51.2%). Feeding \`credit\` the children's true lifts (a diagnostic
that peeks at the simulator) gives 78.4% with the wait: the remaining gap is the noise of lifts measured on
5-10 rewards. A gated variant (\`credit\` only when the leading module's movement exceeds the next one's by
0.5 standard errors, else round-robin; 300 replicates) delivered 0.695 / 0.628 / 0.613 / 0.683, the same
average as \`credit\` (0.655) with a lower share (48.5%): not kept.

Identification with the wait, the same tuning replicates, \`credit\` module choice: miprox 85.0 / 77.3 / 82.7 /
78.0% in (a)-(d); miprox without the identification phase (plain Thompson sampling with the control floor once
the pool is final) 83.3 / 77.7 / 87.7 / 74.0%; plain Thompson sampling (no val, no control floor) 84.0 / 81.3 /
85.0 / 77.0%. No policy that has to learn the means reaches 85% in (b) or (d) at this budget; the oracle does
(95-97%).

**Default.** With the wait, \`credit\` delivers +0.039 in (a) and -0.006 to -0.008 in (b)-(d) against
\`round_robin\` (average 0.655 against 0.650), and lower cumulative regret in (b)-(d) (210.6 / 215.0 / 196.7
against 214.2 / 221.1 / 209.7; (a) 199.3 against 190.8): it is the default again
(src/optimizer/runner/proposalRunner.ts). Identification is lower with \`credit\` in (b) and (d); the reported
table above shows both.

### What was tried for \`credit\` before the wait (tuning seeds only)
Bottleneck share in (a), seed request / bench CONFIG, 150 tuning replicates at 1,500 rollouts (every
proposal is made by then):
- First version (best Thompson draw of the signed lifts, children with >= R rewards): 34% / 38%
  (at 5,000 rollouts, 60 replicates: 34% / 40%; round-robin: 30% / 33%).
- Magnitude of the lift instead of its sign, per-child draws: 36% / 41%; counting children from R/2 or
  R/5 rewards: 40% / 44%.
- **Kept**: precision-weighted mean of |lift| beyond what noise gives, children counted from R/5 rewards
  (at least 2), draw spread 0.5 standard errors: 44% / 50%. Spread 1: 41% / 48%; spread 0.25: 44% / 50%;
  prior sd 0.03 instead of 0.1: 45% / 50%; no forced first round (untried modules draw from the prior):
  44% / 49%.
- Default: at 5,000 rollouts (120 tuning replicates) the champion's true mean with \`credit\` vs
  \`round_robin\` was 0.656 vs 0.655 (a), 0.615 vs 0.621 (b), 0.595 vs 0.597 (c), 0.671 vs 0.679 (d) in the
  seed request configuration and 0.648 vs 0.626 (a), 0.621 vs 0.623 (b), 0.595 vs 0.602 (c), 0.671 vs 0.672
  (d) in bench CONFIG. \`credit\` gains where one module limits the program and is within about 0.01 where
  all modules matter alike (there, spreading edits avoids diminishing returns on one module). \`credit\`
  stays the default.

### Why identification stays near 84% (issue 11 follow-up, tuning seeds only)
Failed identifications of miprox (round_robin), seed request, 300 tuning replicates (1,000,000-1,000,299) per
setting, by cause (\`bench/pipelineDiagnosis.ts\`; bench CONFIG in brackets):

| setting | identified | best program retired | never ranked (< R rewards) | starved (< 100 rewards) | near tie (< 0.02) | lost with data | best-tier share of online rewards |
|---|---:|---:|---:|---:|---:|---:|---:|
| (a) bottleneck | 84.3% [83.0%] | 0 [0] | 2 [1] | 10 [5] | 12 [26] | 23 [19] | 54% [52%] |
| (b) all equal | 81.7% [81.0%] | 0 [0] | 1 [2] | 9 [5] | 25 [31] | 20 [19] | 41% [45%] |
| (c) interaction 1-3 | 87.0% [87.3%] | 0 [0] | 1 [2] | 6 [7] | 16 [19] | 16 [10] | 45% [48%] |
| (d) module 2 called 0-3x | 81.0% [83.7%] | 0 [0] | 2 [1] | 11 [8] | 15 [20] | 29 [20] | 42% [47%] |

- **Retirement is not the cause**: it retired 0.00-0.01 programs per run in the seed request (0.06-0.40 in
  bench CONFIG), never the best one. With 20 candidates the k-th gets delta / (k (k + 1)) of an anytime-valid
  budget, so retirement needs far more evidence than these gaps give; it neither loses the best program nor
  frees traffic.
- **The champion rule is not the cause**: on the same final data, shrinkage of 1, 10, 50 or 200 rewards, the
  raw mean, or even online and val rewards pooled (not allowed: val must stay held out) name a program
  within 0.01 of the best in the same runs to within 2 points (e.g. (b): 81.3-83.7%).
- **Lost with data** (the best program had >= 100 rewards and was more than 0.02 better): its online mean sat
  1.0-1.4 standard errors below its true mean and the champion's 1.3-1.6 above, with about twice the
  rewards (medians 380-600 against 700-1,350). That is the winner's curse among 20 programs, most of them
  small edits of each other 0.01-0.05 apart; **near ties** (0.01-0.02 apart) are coin flips at this budget.
- **Traffic after the pool is final** (from rollout 280; 10 proposals, the cap, are made by then): the
  identification phase serves 73-91% of bandit-chosen rollouts (150 replicates), and 23-32% of all
  bandit-chosen rollouts go to programs more than 0.05 below the best (29-33% within the phase) (the LUCB challenger is the program with the highest upper bound, and each of 19 such
  programs needs a few hundred rewards before its bound drops). Val confirmation takes 510-550 rollouts
  (about 11%), the control floor about 1%.

Allocation variants tried in the identification phase (identification (a) / (b) / (c) / (d), seed request,
miprox (round_robin); 600 tuning replicates 1,000,000-1,000,599, or the first 300 where marked (300)):
- Current LUCB (z = 2, leader or challenger with equal probability): 83.0 / 81.7 / 85.2 / 79.7%.
- z = 3: 84.3 / 84.5 / 86.3 / 80.0%; z = 4: 87.0 / 81.0 / 85.0 / 81.7% (300); z = 1: 81.7 / 79.0 / 85.7 /
  75.7% (300); z = 0.5: 84.3 / 80.3 / 84.3 / 80.3% (300).
- Top-two Thompson sampling (beta 0.5): 83.2 / 82.8 / 86.3 / 81.5%; beta 0.3: 81.0 / 81.7 / 84.7 / 79.7% (300).
  Leader by posterior mean, challenger by a Thompson draw among the rest: 83.0 / 84.3 / 83.0 / 81.3% (300).
- Serve the less-measured of leader and challenger (equalises the two sample sizes, which minimises the
  variance of their difference): 85.3 / 84.2 / 84.3 / 82.0%, the best average, but on the single-prompt
  benchmark (miprox only, replicates 0-149, run only to accept or reject it) it raised cumulative regret by 5-11% at every budget and moved
  identification by -7.4 to +6 points at 2,000 rollouts and within 2 points from 5,000: not kept.
- Only the five best programs by posterior mean in the phase: 69-75% (300; the starved best program is never
  re-measured). No val confirmation at all (a diagnostic, not an option: best_score and the lift need it):
  87.7 / 81.0 / 87.0 / 83.7%.
Every variant that keeps every program in play stays within about 3 points of the current phase, the noise of 300-600 paired replicates, and
none reaches 85% in all four settings; plain Thompson sampling (no val, no control) sits at the same level
on the reported seeds. Nothing in the product was changed: the 85% target is at the edge of what this budget
allows a policy that does not know the true means, with 20 programs of which several are within 0.01-0.03.

### Why the bottleneck share stayed near 43% before the wait (tuning seeds only)
- The candidate cap counts retired candidates (SPEC \`online_proposer_max_candidates\`: it bounds the job's
  total proposer cost), so the 10 proposals of the seed request are made in the first ~280 rollouts; since
  retirement retires nothing here, counting only active candidates would not add a proposal either.
- The signal is there, the evidence is not: with \`credit\` fed the children's true lifts (a diagnostic that
  peeks at the simulator, 300 tuning replicates, (a)) 78% of proposals go to the bottleneck; with the lifts
  measured on the children's few rewards, 43-44%. An unbiased estimate of the squared lift (lift^2 - se^2,
  precision-weighted) instead of |lift| beyond noise also gives 44%.
- Choosing the module per child instead of per proposal would add one informed choice (the forced first round
  takes 1.5 proposals instead of 3) but not evidence; the runner makes one proposer call per proposal for
  one module. Only the app's own blame (\`feedback_by_module\`, 80%) carries per-module evidence this early.
`;
