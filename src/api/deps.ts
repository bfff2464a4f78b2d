import type { FastifyRequest } from 'fastify';
import type { AppConfig } from '../config/config.js';
import type { Logger } from '../shared/logger.js';
import type { JobService } from '../services/jobService.js';
import type { JobRecord, Store } from '../store/types.js';
import type { Principal } from './auth.js';

/** What route modules need; built once in app.ts from the composition root's services. */
export interface ApiDeps {
  config: AppConfig;
  store: Store;
  log: Logger;
  jobs: JobService;
  authenticate(req: FastifyRequest): Promise<Principal>;
  urls(job: JobRecord, origin: string): JobUrls;
}

export interface JobUrls {
  system_id: string;
  session_id: string;
  proxy_url: string;
  online_url: string;
  chat_completions_url: string;
}

export function jobUrls(job: JobRecord, origin: string): JobUrls {
  const proxy = `${origin}/api/mipro/v1/${job.systemId}`;
  return {
    system_id: job.systemId,
    session_id: job.systemId,
    proxy_url: proxy,
    online_url: proxy,
    chat_completions_url: `${proxy}/chat/completions`,
  };
}
