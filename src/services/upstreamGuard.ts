import type { AppConfig } from '../config/config.js';
import { checkInferenceUrl } from '../providers/inferenceUrlPolicy.js';
import type { ConfigCheck } from '../schemas/jobRequest.js';
import type { FieldProblem } from '../shared/errors.js';

/**
 * SSRF guard at job creation: a job may only name an inference_url this server is allowed to call
 * (cloud metadata and private addresses are refused unless MIPROX_ALLOWED_INFERENCE_HOSTS lists them).
 * It reads the config as sent (before validation) so its problems are listed with the schema's;
 * a URL that is not a string is the schema's to report.
 */
export function upstreamGuard(providers: AppConfig['providers']): ConfigCheck {
  return (config) => {
    const problems: FieldProblem[] = [];
    const urls = [
      ['policy.inference_url', field(config, 'policy', 'inference_url')],
      ['mipro.proposer.inference_url', field(config, 'mipro', 'proposer', 'inference_url')],
    ] as const;
    for (const [path, url] of urls) {
      if (typeof url !== 'string') continue;
      const check = checkInferenceUrl(url, providers.allowedInferenceHosts);
      if (!check.ok) problems.push({ path, message: check.reason });
    }
    return problems;
  };
}

function field(value: unknown, ...keys: string[]): unknown {
  let node = value;
  for (const key of keys) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}
