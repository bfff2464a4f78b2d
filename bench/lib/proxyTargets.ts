import type { LoadSpec } from './loadClient.js';

/**
 * The ways the proxy benchmark reaches the same fake upstream: directly, through a bare Node proxy
 * (the floor: one more process, two more hops, no logic), through miprox, and through the Portkey
 * gateway. A target is everything a LoadSpec needs except the load shape.
 */
export interface Target {
  name: 'direct' | 'bare' | 'miprox' | 'portkey';
  origin: string;
  /** `{n}` gives each request its own rollout id (miprox persists one rollout record per request). */
  pathTemplate: string;
  headers: Record<string, string>;
}

/** A small, typical chat request; miprox replaces the model with the job's and injects its instruction. */
export const CHAT_BODY = JSON.stringify({
  model: 'gpt-4o-mini',
  messages: [
    { role: 'system', content: 'You are a helpful assistant.' },
    { role: 'user', content: 'What is the capital of France? Answer in one word.' },
  ],
  temperature: 0,
  max_tokens: 16,
});

const JSON_HEADERS = { 'content-type': 'application/json' };

/** `upstreamUrl` is the fake's base URL ending in `/v1`. */
export function directTarget(upstreamUrl: string): Target {
  const u = new URL(upstreamUrl);
  return { name: 'direct', origin: u.origin, pathTemplate: `${u.pathname}/chat/completions`, headers: { ...JSON_HEADERS, authorization: 'Bearer sk-bench' } };
}

export function bareTarget(origin: string): Target {
  return { name: 'bare', origin, pathTemplate: '/v1/chat/completions', headers: { ...JSON_HEADERS } };
}

/** `phase` keeps rollout ids of different runs apart (they must all be new). */
export function miproxTarget(origin: string, proxyPath: string, phase: string): Target {
  return { name: 'miprox', origin, pathTemplate: `${proxyPath}/bench-${phase}-{n}/chat/completions`, headers: { ...JSON_HEADERS } };
}

export function portkeyTarget(origin: string, upstreamUrl: string): Target {
  return {
    name: 'portkey',
    origin,
    pathTemplate: '/v1/chat/completions',
    headers: { ...JSON_HEADERS, authorization: 'Bearer x', 'x-portkey-provider': 'openai', 'x-portkey-custom-host': upstreamUrl },
  };
}

export function loadSpec(t: Target, shape: Pick<LoadSpec, 'connections' | 'warmup' | 'measure'> & { firstN?: number }): LoadSpec {
  return { origin: t.origin, pathTemplate: t.pathTemplate, headers: t.headers, body: CHAT_BODY, ...shape };
}

/** One request through the target; throws with what came back unless it is a chat completion. */
export async function smokeTest(t: Target): Promise<void> {
  const res = await fetch(`${t.origin}${t.pathTemplate.replaceAll('{n}', 'smoke')}`, { method: 'POST', headers: t.headers, body: CHAT_BODY });
  const text = await res.text();
  let ok = false;
  try {
    const json = JSON.parse(text) as { object?: unknown; choices?: unknown };
    ok = res.status === 200 && json.object === 'chat.completion' && Array.isArray(json.choices);
  } catch {
    ok = false;
  }
  if (!ok) throw new Error(`${t.name} smoke request failed: HTTP ${res.status} ${text.slice(0, 400)}`);
}
