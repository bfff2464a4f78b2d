/**
 * How many proxied calls may go upstream before their rollout's claim has committed (a speculative
 * dispatch, dispatcher.ts). A speculation is wasted when the claim finds the id already stored with
 * another candidate (or fails): its answer is dropped and the call is made again, so the user pays
 * for one upstream call twice. The budget keeps that rare and bounded:
 *
 * - at most `credits` speculations are in flight at once, so one burst of surprises (a restart
 *   in a cluster whose clients send multi-turn rollout ids) wastes at most `credits` calls;
 * - each wasted speculation burns one credit; a credit comes back per `claimsPerCredit` claims that
 *   found their id new (the traffic speculation pays for), never above `maxCredits`.
 *
 * So over any stretch, wasted calls <= maxCredits + (new-id claims) / claimsPerCredit: 16 + 0.1%
 * with the defaults, and none at all where every id is new (each instance's first calls of its
 * rollouts). Traffic whose ids are often known elsewhere (round-robined multi-turn rollouts) burns
 * the credits and is then served as before: claim first, upstream after.
 */
export class SpeculationBudget {
  private credits: number;
  private inFlight = 0;
  /** New-id claims toward the next credit (integers: no rounding drift). */
  private earned = 0;

  constructor(private readonly o: { maxCredits: number; claimsPerCredit: number } = { maxCredits: 16, claimsPerCredit: 1000 }) {
    this.credits = o.maxCredits;
  }

  /** True (and counted in flight) when one more speculation fits; end() must follow. */
  tryStart(): boolean {
    if (this.inFlight >= this.credits) return false;
    this.inFlight += 1;
    return true;
  }

  end(outcome: 'confirmed' | 'wasted'): void {
    this.inFlight -= 1;
    if (outcome === 'wasted') this.credits = Math.max(0, this.credits - 1);
  }

  /** A claim (speculative or not) whose id was new. */
  earn(): void {
    if (this.credits >= this.o.maxCredits) return;
    this.earned += 1;
    if (this.earned < this.o.claimsPerCredit) return;
    this.earned = 0;
    this.credits += 1;
  }

  /** For tests and logs. */
  get available(): number {
    return this.credits - this.inFlight;
  }
}
