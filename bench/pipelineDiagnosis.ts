/**
 * Why miprox misses best-program identification in pipeline-3 (bench/sim/pipelineDiagnosis.ts):
 * failure causes per setting, on the TUNING replicates by default (never the reported ones).
 *
 *   npx tsx bench/pipelineDiagnosis.ts [--replicates 300] [--config 0|1] [--module-choice round_robin|credit] [--reported]
 */
import { argValue } from './lib/report.js';
import { BENCH_CONFIG } from './sim/config.js';
import { TUNING_OFFSET } from './sim/pipeline.js';
import { diagnose, diagnosisTable } from './sim/pipelineDiagnosis.js';
import type { ModuleChoice } from '../src/optimizer/core/moduleChoice.js';

const replicates = Number(argValue('--replicates') ?? 300);
const config = Number(argValue('--config') ?? 0);
const choice = (argValue('--module-choice') ?? 'round_robin') as ModuleChoice;
const offset = process.argv.includes('--reported') ? 0 : TUNING_OFFSET;
const started = Date.now();
const rows = diagnose(BENCH_CONFIG, config, choice, replicates, offset);
console.log(diagnosisTable(rows));
console.log(`\nmiprox (${choice}), config ${config}, replicates ${offset}..${offset + replicates - 1}, ${((Date.now() - started) / 1000).toFixed(1)} s`);
