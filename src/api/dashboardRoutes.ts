import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { acceptsGzip } from './acceptEncoding.js';
import { ifNoneMatchHits } from './ifNoneMatch.js';
import { NoRouteError } from './requestGuards.js';
import { type Asset, type AssetName, createAssetLoader, findPackageRoot } from './dashboardAssets.js';
import type { ApiDeps } from './deps.js';

/**
 * Serves the dashboard at `/`: index.html, app.js and app.css, with any other GET path that is not an
 * API or operations path answered with index.html (the dashboard routes on the URL hash; this keeps
 * bookmarked or mistyped paths landing on it). The page talks to the API only, with the user's key.
 */
export interface DashboardOptions {
  /** The package root holding web/ (default: found from this file's location). */
  root?: string;
}

/** Prefixes that belong to the server, never to the dashboard: unknown paths there stay 404 JSON. */
const SERVER_PATHS = ['/api', '/healthz', '/readyz', '/metrics'];

/**
 * Nothing beyond this origin: no CDN, fonts, frames or inline script. Style attributes are refused
 * too (the dashboard sets styles through the CSSOM, which CSP allows).
 */
const CSP = [
  "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:", "connect-src 'self'",
  "base-uri 'none'", "form-action 'self'", "frame-ancestors 'none'",
].join('; ');

const IMMUTABLE = 'public, max-age=31536000, immutable';

/** Needs only the logger of ApiDeps, so it fits the app's plugin list and stands alone in tests. */
export function registerDashboardRoutes(app: FastifyInstance, deps: Pick<ApiDeps, 'log'>, opts: DashboardOptions = {}): void {
  const assets = createAssetLoader(opts.root ?? findPackageRoot(), deps.log);

  const send = async (req: FastifyRequest, reply: FastifyReply, name: AssetName) => {
    const asset = (await assets())[name];
    // app.js/app.css asked for with the hash of their current content may be cached forever; any
    // other request revalidates (ETag), so an upgrade never serves stale code.
    const version = (req.query as Record<string, unknown> | undefined)?.v;
    reply.header('cache-control', name !== 'index.html' && version === asset.hash ? IMMUTABLE : 'no-cache');
    return sendAsset(req, reply, asset);
  };

  app.get('/', (req, reply) => send(req, reply, 'index.html'));
  app.get('/index.html', (req, reply) => send(req, reply, 'index.html'));
  app.get('/app.js', (req, reply) => send(req, reply, 'app.js'));
  app.get('/app.css', (req, reply) => send(req, reply, 'app.css'));
  app.get('/*', (req, reply) => {
    const path = req.url.split('?')[0] ?? '/';
    const lastSegment = path.split('/').pop() ?? '';
    // Server paths keep their JSON 404; a path that looks like a file is a real miss, not a page.
    if (SERVER_PATHS.some((p) => path === p || path.startsWith(`${p}/`)) || lastSegment.includes('.')) {
      throw new NoRouteError(`no route for ${req.method} ${path}`);
    }
    return send(req, reply, 'index.html');
  });
}

function sendAsset(req: FastifyRequest, reply: FastifyReply, asset: Asset): FastifyReply {
  const etag = `"${asset.hash}"`;
  reply
    .header('etag', etag)
    .header('vary', 'accept-encoding')
    .header('x-content-type-options', 'nosniff')
    .header('referrer-policy', 'no-referrer')
    .header('content-security-policy', CSP)
    .header('x-frame-options', 'DENY')
    .header('cross-origin-opener-policy', 'same-origin')
    .type(asset.contentType);
  if (ifNoneMatchHits(req.headers['if-none-match'], etag)) return reply.code(304).send();
  if (acceptsGzip(req.headers['accept-encoding'])) {
    return reply.header('content-encoding', 'gzip').send(asset.gzip);
  }
  return reply.send(asset.body);
}
