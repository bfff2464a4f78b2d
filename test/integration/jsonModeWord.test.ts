import { describe, expect, it } from 'vitest';
import { addModuleCandidates, api, seedJobBody } from '../helpers/server.js';
import { systemPromptOf } from '../fakes/fakeBehavior.js';
import { useSurfaceHarness, type SurfaceJob } from '../helpers/surfaces.js';

/**
 * OpenAI refuses JSON mode (`json_object`) when no message says "json". The app's system text said
 * it; a candidate's text replaces that text, and a proposed instruction need not say it (a proposer
 * rewrites format rules): every call served by it was OpenAI's 400. Such a call now gets "Respond in
 * JSON." after the candidate's text; a call that still says "json" somewhere goes as before.
 */
const s = useSurfaceHarness(['openai']);
const APP_SYSTEM = 'Classify the banking query. Answer in JSON with a "label" field.';
const CANDIDATE = 'Name the intent of the customer query precisely.';
let job: SurfaceJob | undefined;
let n = 0;

async function jsonJob(): Promise<SurfaceJob> {
  if (job) return job;
  const body = seedJobBody({ provider: 'openai', model: 'gpt-4o-mini', initialPrompt: APP_SYSTEM, proposerProvider: 'sim', proposerModel: 'sim-proposer' });
  const res = await api(s.h.t.url, 'POST', '/api/policy-optimization/online/jobs', { key: s.h.t.key, body });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  await addModuleCandidates(s.h.t.server.store, res.body.job_id, 'main', { cand_nojson: CANDIDATE });
  await new Promise((r) => setTimeout(r, 30));
  expect((await api(s.h.t.url, 'POST', `/api/policy-optimization/online/jobs/${res.body.job_id}/promote`, { key: s.h.t.key, body: { candidate_id: 'cand_nojson' } })).status).toBe(200);
  await new Promise((r) => setTimeout(r, 30));
  job = { jobId: res.body.job_id, systemId: res.body.system_id, proxyUrl: res.body.proxy_url, provider: 'openai' };
  return job!;
}

async function sentSystem(surface: string, body: Record<string, unknown>): Promise<string> {
  const j = await jsonJob();
  const res = await api(j.proxyUrl, 'POST', `/json-${n++}/${surface}`, { body: { model: 'm', ...body } });
  expect(res.status, JSON.stringify(res.body)).toBe(200);
  expect(res.headers.get('x-mipro-candidate-id')).toBe('cand_nojson');
  return systemPromptOf(s.h.openai.requests.at(-1)!);
}

const chat = (format: unknown, user = 'I lost my card') => ({ messages: [{ role: 'system', content: APP_SYSTEM }, { role: 'user', content: user }], ...(format === undefined ? {} : { response_format: format }) });

describe('JSON mode when the candidate\'s text does not say "json"', () => {
  it.each([false, true])('chat json_object: the candidate\'s text, then "Respond in JSON." (stream %s)', async (stream) => {
    expect(await sentSystem('chat/completions', { ...chat({ type: 'json_object' }), stream })).toBe(`${CANDIDATE}\n\nRespond in JSON.`);
  });

  it.each([false, true])('Responses json_object (native instructions): the same (stream %s)', async (stream) => {
    const body = { instructions: APP_SYSTEM, input: 'I lost my card', text: { format: { type: 'json_object' } }, stream };
    expect(await sentSystem('responses', body)).toBe(`${CANDIDATE}\n\nRespond in JSON.`);
  });

  it('without JSON mode, or when another message says json, the candidate\'s text goes as it is', async () => {
    expect(await sentSystem('chat/completions', chat(undefined))).toBe(CANDIDATE);
    expect(await sentSystem('chat/completions', chat({ type: 'json_schema', json_schema: { name: 'x', schema: { type: 'object' } } }))).toBe(CANDIDATE);
    expect(await sentSystem('chat/completions', chat({ type: 'json_object' }, 'Give me json for: I lost my card'))).toBe(CANDIDATE);
  });
});
