#!/usr/bin/env node
/**
 * Bundles the dashboard: web/src/main.ts (+ its CSS, uPlot included) -> web/dist/{index.html,app.js,app.css}.
 * Everything is local: no CDN, no web fonts, so the dashboard works offline.
 *
 * `buildWeb()` is also imported by src/api/dashboardRoutes.ts, which bundles in memory on first request
 * when web/dist is missing or older than web/src (a dev checkout, `npm test` without `npm run build`).
 * Importing this module has no side effects; it builds only when run as a script.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const DEFAULT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Short content hash: index.html names assets `app.js?v=<hash>` so browsers may cache them forever. */
export const contentHash = (bytes) => createHash('sha256').update(bytes).digest('hex').slice(0, 16);

/**
 * @param {{ root?: string, write?: boolean, minify?: boolean }} [opts]
 * @returns {Promise<Record<'index.html'|'app.js'|'app.css', Uint8Array>>}
 */
export async function buildWeb(opts = {}) {
  const root = opts.root ?? DEFAULT_ROOT;
  const esbuild = await import('esbuild');
  const result = await esbuild.build({
    absWorkingDir: root,
    entryPoints: { app: join(root, 'web/src/main.ts') },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: ['chrome109', 'firefox115', 'safari16'],
    minify: opts.minify ?? true,
    legalComments: 'none',
    charset: 'utf8',
    outdir: join(root, 'web/dist'),
    write: false,
    logLevel: 'silent',
  });
  const files = {};
  for (const f of result.outputFiles) {
    const name = f.path.endsWith('.css') ? 'app.css' : f.path.endsWith('.js') ? 'app.js' : null;
    if (name) files[name] = f.contents;
  }
  if (!files['app.js'] || !files['app.css']) throw new Error('dashboard bundle is missing app.js or app.css');
  const template = await readFile(join(root, 'web/index.html'), 'utf8');
  const html = template
    .replace('/app.js', `/app.js?v=${contentHash(files['app.js'])}`)
    .replace('/app.css', `/app.css?v=${contentHash(files['app.css'])}`);
  files['index.html'] = new TextEncoder().encode(html);
  if (opts.write ?? false) {
    const out = join(root, 'web/dist');
    await mkdir(out, { recursive: true });
    for (const [name, bytes] of Object.entries(files)) await writeFile(join(out, name), bytes);
  }
  return files;
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (invokedDirectly) {
  const started = Date.now();
  buildWeb({ write: true }).then(
    (files) => {
      const sizes = Object.entries(files).map(([n, b]) => `${n} ${(b.length / 1024).toFixed(1)} KiB`).join(', ');
      console.log(`web/dist built in ${Date.now() - started} ms: ${sizes}`);
    },
    (err) => {
      console.error(`dashboard build failed: ${err instanceof Error ? err.message : String(err)}`);
      process.exit(1);
    },
  );
}
