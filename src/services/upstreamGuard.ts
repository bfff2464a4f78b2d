import type { AppConfig } from '../config/config.js';
import { checkInferenceUrl } from '../providers/inferenceUrlPolicy.js';
import type { JobConfig } from '../schemas/jobConfig.js';
import type { FieldProblem } from '../shared/errors.js';

/**
 * SSRF guard at job creation: a job may only name an inference_url this server is allowed to call
 * (cloud metadata and private addresses are refused unless MIPROX_ALLOWED_INFERENCE_HOSTS lists them).
 * Paths are relative to the config object; the caller prefixes the wrapper.
 */
export function upstreamGuard(providers: AppConfig['providers']) {
  return (config: JobConfig): FieldProblem[] => {
    const problems: FieldProblem[] = [];
    for (const [path, url] of [['policy.inference_url', config.policy.inference_url], ['mipro.proposer.inference_url', config.mipro.proposer.inference_url]] as const) {
      if (!url) continue;
      const check = checkInferenceUrl(url, providers.allowedInferenceHosts);
      if (!check.ok) problems.push({ path, message: check.reason });
    }
    return problems;
  };
}
