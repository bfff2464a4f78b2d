/**
 * How far best-program identification in pipeline-3 can go (bench/sim/pipelineCeiling.ts): miprox
 * with more rollouts, and with traffic steered by the true means once the pool is final. On the
 * TUNING replicates by default (never the reported ones).
 *
 *   npx tsx bench/pipelineCeiling.ts [--replicates 300] [--variants 0,3,4] [--from 300] [--reported]
 *
 * --from: the first replicate past the tuning offset (a second block of tuning replicates).
 */
import { argValue } from './lib/report.js';
import { BENCH_CONFIG } from './sim/config.js';
import { TUNING_OFFSET } from './sim/pipeline.js';
import { CEILING_VARIANTS, ceilingRow, ceilingTable } from './sim/pipelineCeiling.js';

const replicates = Number(argValue('--replicates') ?? 300);
const only = argValue('--variants')?.split(',').map(Number);
const offset = process.argv.includes('--reported') ? 0 : TUNING_OFFSET + Number(argValue('--from') ?? 0);
const started = Date.now();
const variants = CEILING_VARIANTS.filter((_, i) => !only || only.includes(i));
const rows = variants.map((variant) => ({ variant, identified: ceilingRow(BENCH_CONFIG, variant, replicates, offset) }));
console.log(ceilingTable(rows));
console.log(`\nmiprox (credit), seed request, replicates ${offset}..${offset + replicates - 1}, ${((Date.now() - started) / 1000).toFixed(1)} s`);
