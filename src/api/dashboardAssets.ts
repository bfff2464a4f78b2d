import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { readFile, readdir, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import { ConfigError } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';

/**
 * The dashboard's three files, held in memory (they are small): from web/dist when it is built and up
 * to date, else bundled on the fly with esbuild from web/src (a dev checkout, or `npm test` without
 * `npm run build`). In-memory bundling never writes web/dist, so parallel test servers cannot race.
 */
export const ASSET_NAMES = ['index.html', 'app.js', 'app.css'] as const;
export type AssetName = (typeof ASSET_NAMES)[number];

export interface Asset {
  body: Buffer;
  /** Pre-compressed once; sent when the client accepts gzip. */
  gzip: Buffer;
  /** Short content hash: the ETag, and the `?v=` index.html puts on app.js/app.css. */
  hash: string;
  contentType: string;
}

export type DashboardAssets = Record<AssetName, Asset>;

const CONTENT_TYPES: Record<AssetName, string> = {
  'index.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'app.css': 'text/css; charset=utf-8',
};

/** The directory holding web/ and scripts/ (the package root), from this file's location in src/ or dist/src/. */
export function findPackageRoot(start: string = dirname(fileURLToPath(import.meta.url))): string | null {
  let dir = start;
  for (;;) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'web'))) return dir;
    const up = dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
}

export function toAsset(name: AssetName, body: Uint8Array): Asset {
  const buf = Buffer.from(body);
  return { body: buf, gzip: gzipSync(buf), hash: createHash('sha256').update(buf).digest('hex').slice(0, 16), contentType: CONTENT_TYPES[name] };
}

/** Returns a loader that loads once, shares the in-flight load, and retries after a failure. */
export function createAssetLoader(root: string | null, log: Logger): () => Promise<DashboardAssets> {
  let loading: Promise<DashboardAssets> | null = null;
  return () => {
    loading ??= load(root, log).catch((err: unknown) => {
      loading = null;
      throw err;
    });
    return loading;
  };
}

async function load(root: string | null, log: Logger): Promise<DashboardAssets> {
  if (!root) throw new ConfigError('dashboard files not found: the package has no web/ directory');
  const dist = join(root, 'web/dist');
  const src = join(root, 'web/src');
  const built = await distTime(dist);
  const sources = existsSync(src) ? await newestMtime([src, join(root, 'web/index.html'), join(root, 'scripts/build-web.mjs')]) : null;
  if (built !== null && (sources === null || sources <= built)) return readDist(dist);
  if (sources === null) throw new ConfigError('dashboard is not built: run `npm run build` (web/dist is missing)');
  const started = Date.now();
  try {
    const files = await bundleInMemory(root);
    log.info({ ms: Date.now() - started }, `dashboard bundled in memory (web/dist ${built === null ? 'missing' : 'older than web/src'})`);
    return files;
  } catch (err) {
    if (built === null) throw err;
    // An older build beats no dashboard (e.g. esbuild is not installed in production).
    log.warn({ err }, 'dashboard: web/dist is older than web/src and could not be rebuilt; serving web/dist');
    return readDist(dist);
  }
}

async function readDist(dist: string): Promise<DashboardAssets> {
  const files = await Promise.all(ASSET_NAMES.map(async (n) => [n, toAsset(n, await readFile(join(dist, n)))] as const));
  return Object.fromEntries(files) as DashboardAssets;
}

/** Modification time of the oldest file of a complete web/dist, or null when something is missing. */
async function distTime(dist: string): Promise<number | null> {
  try {
    const times = await Promise.all(ASSET_NAMES.map(async (n) => (await stat(join(dist, n))).mtimeMs));
    return Math.min(...times);
  } catch {
    return null;
  }
}

async function newestMtime(paths: string[]): Promise<number> {
  let newest = 0;
  for (const p of paths) {
    const s = await stat(p).catch(() => null);
    if (!s) continue;
    if (s.isDirectory()) {
      const entries = await readdir(p);
      newest = Math.max(newest, await newestMtime(entries.map((e) => join(p, e))));
    } else {
      newest = Math.max(newest, s.mtimeMs);
    }
  }
  return newest;
}

interface BuildModule { buildWeb(opts: { root: string; write: boolean }): Promise<Record<string, Uint8Array>> }

function isBuildModule(m: unknown): m is BuildModule {
  return typeof m === 'object' && m !== null && typeof (m as { buildWeb?: unknown }).buildWeb === 'function';
}

/** The same build as `npm run build` (scripts/build-web.mjs), kept in memory. Needs esbuild (a dev dependency). */
async function bundleInMemory(root: string): Promise<DashboardAssets> {
  let mod: unknown;
  try {
    mod = await import(pathToFileURL(join(root, 'scripts/build-web.mjs')).href);
  } catch (err) {
    throw new ConfigError(`dashboard is not built and cannot be bundled here: ${err instanceof Error ? err.message : String(err)}; run \`npm run build\``);
  }
  if (!isBuildModule(mod)) throw new ConfigError('scripts/build-web.mjs does not export buildWeb()');
  const out = await mod.buildWeb({ root, write: false });
  const assets: Partial<DashboardAssets> = {};
  for (const name of ASSET_NAMES) {
    const body = out[name];
    if (!body) throw new ConfigError(`dashboard build produced no ${name}`);
    assets[name] = toAsset(name, body);
  }
  return assets as DashboardAssets;
}
