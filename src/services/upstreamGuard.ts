import type { AppConfig } from '../config/config.js';
import { checkInferenceUrl } from '../providers/inferenceUrlPolicy.js';
import { PROVIDER_KINDS, type ProviderKind } from '../providers/types.js';
import type { ConfigCheck } from '../schemas/jobRequest.js';
import type { FieldProblem } from '../shared/errors.js';

/** The server variable each keyed provider needs; `openai_compatible` and `sim` need none. */
const KEY_VARIABLE = { openai: 'OPENAI_API_KEY', anthropic: 'ANTHROPIC_API_KEY' } as const;

/**
 * Checks at job creation that the job's upstreams can be called: the providers the operator allows
 * (MIPROX_PROVIDERS; only new jobs: a job created before the list shrank keeps calling its own), the SSRF guard (a job may only name
 * an inference_url this server is allowed to call; cloud metadata and private addresses are refused
 * unless MIPROX_ALLOWED_INFERENCE_HOSTS lists them), and the provider keys the server holds.
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
    const allowed = providers.allowedProviders;
    // A job whose provider has no key would be created and then fail every proxied call with a 502.
    const keys = { openai: providers.openaiApiKey, anthropic: providers.anthropicApiKey };
    const targets = [
      ['policy.provider', field(config, 'policy', 'provider')],
      ['mipro.proposer.provider', field(config, 'mipro', 'proposer', 'provider')],
    ] as const;
    for (const [path, provider] of targets) {
      // A name that is no provider is the schema's to report.
      if (!isProviderKind(provider)) continue;
      if (!allowed.includes(provider)) {
        problems.push({ path, message: `"${provider}" is not allowed on this miprox server (MIPROX_PROVIDERS): use one of ${allowed.join(', ')}` });
        continue;
      }
      if (provider !== 'openai' && provider !== 'anthropic') continue;
      if (keys[provider]) continue;
      const trySim = allowed.includes('sim') ? ', or use provider "sim" (the offline simulator) to try miprox without a key' : '';
      problems.push({
        path,
        message: `"${provider}" needs ${KEY_VARIABLE[provider]}, which is not set on this miprox server: set it and restart the server${trySim}`,
      });
    }
    return problems;
  };
}

function isProviderKind(value: unknown): value is ProviderKind {
  return (PROVIDER_KINDS as readonly unknown[]).includes(value);
}

function field(value: unknown, ...keys: string[]): unknown {
  let node = value;
  for (const key of keys) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<string, unknown>)[key];
  }
  return node;
}
