import type { CellSummary } from './aggregate.js';
import { PIPELINE_POLICIES, PIPELINE_SETTINGS, pipelineConfigs, type PipelineJob } from './pipeline.js';
import { PIPELINE_NOTES } from './pipelineNotes.js';
import { pipelineSection, pipelineTable, verdictLines, type PipelineCell, type PipelineResults } from './pipelineReport.js';
import type { SimConfig } from './types.js';

/** Gathers the pipeline cells by configuration: the console text and the document section. */
export function pipelineResults(
  base: SimConfig,
  jobs: readonly PipelineJob[],
  summaries: readonly CellSummary[],
  replicates: number,
  seconds: number,
  routing: string,
): { text: string; section: string } {
  const configs = pipelineConfigs(base);
  const cells: PipelineCell[][] = configs.map((_, config) =>
    jobs.flatMap((job, i) =>
      job.config === config
        ? [{ setting: PIPELINE_SETTINGS[job.setting]!, policy: PIPELINE_POLICIES[job.policy]!.name, summary: summaries[i]! }]
        : []));
  const policies = PIPELINE_POLICIES.map((p) => p.name);
  const results: PipelineResults = { configs, settings: PIPELINE_SETTINGS, cells, policies, replicates, seconds };
  const miprox = policies.filter((p) => p.startsWith('miprox'));
  const text = configs
    .map((c, i) => [`pipeline-3, ${c.name}:`, pipelineTable(cells[i]!), '', ...miprox.map((p) => verdictLines(cells[i]!, p))].join('\n'))
    .join('\n\n');
  return {
    text: `${text}\n\n${replicates} replicates per cell, ${seconds.toFixed(1)} s\n\n${routing}`,
    section: pipelineSection(results, PIPELINE_NOTES, routing),
  };
}
