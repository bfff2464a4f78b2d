import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ifNoneMatchHits } from './ifNoneMatch.js';

/**
 * A GET's JSON answer with an entity tag, and a 304 with no body when the client already holds it.
 * The dashboard polls a job's view every 2 s, and with 551 candidates the view is ~330 KB of JSON
 * (~9 KB gzipped) that mostly did not change since the last poll.
 *
 * The tag is a hash of the serialized answer: no version counter covers everything a view is made
 * of (rewards, seed cells and proposals change it without touching the job's row), and the hash
 * costs ~0.3 ms on a 330 KB view beside the ~13 ms the view takes to read and build. It is weak
 * (`W/`): the same JSON goes gzipped or plain (jsonCompression.ts), equal modulo the encoding.
 *
 * Call it only once the resource was found for the caller's tenant: an unknown or another tenant's
 * job is a 404 before this, so a tag or a 304 never says that someone else's job exists.
 * `cache-control: private, no-cache` lets a browser keep the answer and makes it ask again each time.
 */
export function conditionalJson(req: FastifyRequest, reply: FastifyReply, value: unknown): FastifyReply | string {
  const text = JSON.stringify(value);
  const tag = `"${createHash('sha1').update(text).digest('base64url')}"`;
  reply.header('etag', `W/${tag}`).header('cache-control', 'private, no-cache');
  if (ifNoneMatchHits(req.headers['if-none-match'], tag)) return reply.code(304).send();
  reply.type('application/json; charset=utf-8');
  return text;
}
