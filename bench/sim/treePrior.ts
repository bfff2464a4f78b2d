import type { SimArm } from './types.js';

/**
 * A pick that uses the pool's family tree (issue 11, session 10 diagnostic; not a policy miprox runs).
 * Every child is an edit of its parent, so a child's mean is its parent's plus a step: mu_child =
 * mu_parent + N(0, tau^2), with the root (the baseline) at the pooled mean plus N(0, ROOT_SD^2). The
 * posterior of every program's mean is then Gaussian given the observed means (variance p(1-p)/n), and
 * tau is set by empirical Bayes (the grid value with the highest marginal likelihood of the observed
 * means). A program measured on a few rewards is pulled toward its relatives, a well-measured one
 * mostly stands on its own data: the question is whether that beats miprox's shrinkage toward the
 * pooled mean on the same final data.
 */

const ROOT_SD = 0.3;
const TAU_GRID = Array.from({ length: 60 }, (_, i) => 0.0025 * (i + 1));

/** Posterior means of every arm's true mean under the tree prior. */
export function treePosteriorMeans(arms: readonly SimArm[]): Map<string, number> {
  const observed = arms.filter((a) => a.stats.n > 0);
  const total = observed.reduce((s, a) => s + a.stats.n, 0);
  if (total === 0) return new Map(arms.map((a) => [a.id, 0]));
  const pooled = observed.reduce((s, a) => s + a.stats.mean * a.stats.n, 0) / total;
  const rewardVariance = Math.max(pooled * (1 - pooled), 0.01);
  const depthOfCommonAncestor = commonAncestorDepths(arms);
  const priorCov = (tau2: number, xs: readonly SimArm[], ys: readonly SimArm[]) =>
    xs.map((x) => ys.map((y) => ROOT_SD ** 2 + tau2 * depthOfCommonAncestor(x.id, y.id)));
  const centred = observed.map((a) => a.stats.mean - pooled);
  const marginalCov = (tau2: number) =>
    priorCov(tau2, observed, observed).map((row, i) => row.map((c, j) => c + (i === j ? rewardVariance / observed[i]!.stats.n : 0)));

  let best: { tau2: number; logLik: number } | null = null;
  for (const tau of TAU_GRID) {
    const chol = cholesky(marginalCov(tau * tau));
    const alpha = choleskySolve(chol, centred);
    const logLik = -0.5 * (logDeterminant(chol) + centred.reduce((s, y, i) => s + y * alpha[i]!, 0));
    if (!best || logLik > best.logLik) best = { tau2: tau * tau, logLik };
  }
  const alpha = choleskySolve(cholesky(marginalCov(best!.tau2)), centred);
  const cross = priorCov(best!.tau2, arms, observed);
  return new Map(arms.map((a, i) => [a.id, pooled + cross[i]!.reduce((s, c, j) => s + c * alpha[j]!, 0)]));
}

/** Depth (edges from the root) of the deepest common ancestor of two arms. */
function commonAncestorDepths(arms: readonly SimArm[]): (x: string, y: string) => number {
  const byId = new Map(arms.map((a) => [a.id, a]));
  const lineage = new Map(
    arms.map((a) => {
      const path: string[] = [];
      for (let c: SimArm | undefined = a; c; c = c.parentId ? byId.get(c.parentId) : undefined) path.unshift(c.id);
      return [a.id, path];
    }),
  );
  return (x, y) => {
    const a = lineage.get(x)!;
    const b = lineage.get(y)!;
    let shared = 0;
    while (shared < a.length && shared < b.length && a[shared] === b[shared]) shared += 1;
    return shared - 1;
  };
}

/** Lower-triangular L with L L^T = A (A symmetric positive definite). */
function cholesky(A: readonly (readonly number[])[]): number[][] {
  const n = A.length;
  const L = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = A[i]![j]!;
      for (let k = 0; k < j; k++) s -= L[i]![k]! * L[j]![k]!;
      L[i]![j] = i === j ? Math.sqrt(s) : s / L[j]![j]!;
    }
  }
  return L;
}

function choleskySolve(L: readonly (readonly number[])[], b: readonly number[]): number[] {
  const n = b.length;
  const y = new Array<number>(n).fill(0);
  for (let i = 0; i < n; i++) {
    let s = b[i]!;
    for (let k = 0; k < i; k++) s -= L[i]![k]! * y[k]!;
    y[i] = s / L[i]![i]!;
  }
  const x = new Array<number>(n).fill(0);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i]!;
    for (let k = i + 1; k < n; k++) s -= L[k]![i]! * x[k]!;
    x[i] = s / L[i]![i]!;
  }
  return x;
}

function logDeterminant(L: readonly (readonly number[])[]): number {
  return L.reduce((s, row, i) => s + 2 * Math.log(row[i]!), 0);
}
