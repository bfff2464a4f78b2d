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
- The share of proposals to the bottleneck is limited by what is known when the choice is made. Proposals
  start every 20 rewards (seed request) or 100 (bench CONFIG) and stop at the candidate cap: 10 proposals in
  the first 250-300 rollouts, or 6 in the first 800 or so. \`credit\` tries each module once first, so at most
  80% / 67% can go to the bottleneck, and the later choices rest on children with a handful of rewards: a
  lift's standard error is then 0.15-0.25, while a change to the bottleneck moves the reward by 0.13 on
  average (expected |lift| under the mixture) and a change to a near-perfect module by 0.01.
- miprox's identification shortfalls are near-ties in a pool of up to 20 programs, measured by a policy that
  also spends rollouts on val confirmation and the control (as in the single-prompt tables); the oracle,
  which spends everything on the true top two, shows the ceiling. Thompson's intervals and lifts are the
  naive dashboard's (raw maximum, fixed-n interval): its coverage and null false improvements show why
  miprox reports differently.
- Not measured here: that every call reaches the upstream with its own module's prompt and that unmatched
  calls pass byte-identical. Those are properties of the proxy, verified by the integration tests.

### What was tried for \`credit\` (tuning seeds only)
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
`;
