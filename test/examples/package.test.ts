import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type TestServer, startTestServer } from '../helpers/server.js';

const run = promisify(execFile);
const ROOT = join(import.meta.dirname, '..', '..');

/**
 * Issue 16 item 4: `import ... from 'miprox'` failed from a checkout without an unmentioned build.
 * `prepare` builds dist/ on `npm install` and `npm pack`, and `exports` points at it. This test packs a
 * copy of the working tree (so the build never writes into the checkout other tests read), then
 * imports the package from that copy and from the tarball installed in a project, and runs the
 * quickstart and the CLI from the installed package. Dependencies are linked from this checkout's
 * node_modules: no registry is contacted.
 */
describe('the package, from a checkout and from npm pack', () => {
  let t: TestServer;
  const work = mkdtempSync(join(tmpdir(), 'miprox-pack-'));
  const checkout = join(work, 'checkout');
  const project = join(work, 'project');
  let tarball = '';

  beforeAll(async () => {
    t = await startTestServer();
    const { stdout: files } = await run('git', ['ls-files', '-co', '--exclude-standard', '-z'], { cwd: ROOT });
    for (const f of files.split('\0').filter((x) => x && existsSync(join(ROOT, x)))) cpSync(join(ROOT, f), join(checkout, f));
    symlinkSync(join(ROOT, 'node_modules'), join(checkout, 'node_modules'), 'dir');
    await run('npm', ['pack', '--pack-destination', work], { cwd: checkout, maxBuffer: 64 << 20 });
    tarball = join(work, readdirSync(work).find((f) => f.endsWith('.tgz')) ?? 'no tarball');
    const installed = join(project, 'node_modules', 'miprox');
    mkdirSync(installed, { recursive: true });
    await run('tar', ['xzf', tarball, '-C', installed, '--strip-components=1']);
    for (const dep of readdirSync(join(ROOT, 'node_modules'))) {
      if (dep !== 'miprox' && !dep.startsWith('.')) symlinkSync(join(ROOT, 'node_modules', dep), join(project, 'node_modules', dep), 'dir');
    }
  }, 300_000);
  afterAll(async () => {
    await t.close();
    // Unlink the links to this checkout's node_modules first, so removing the copy cannot reach it.
    const links = [join(checkout, 'node_modules'), ...readdirSync(join(project, 'node_modules')).filter((d) => d !== 'miprox').map((d) => join(project, 'node_modules', d))];
    for (const link of links) if (existsSync(link)) unlinkSync(link);
    rmSync(work, { recursive: true, force: true });
  });

  const importCheck = "import('miprox').then((m) => console.log(typeof m.MiproOnlineSession, typeof m.MiproJobsClient))";

  it('is importable from a checkout once npm has run prepare', async () => {
    const { stdout } = await run(process.execPath, ['-e', importCheck], { cwd: checkout });
    expect(stdout.trim()).toBe('function function');
  });

  it('packs the compiled SDK with its types, the CLI and the dashboard, and no sources or tests', async () => {
    const { stdout } = await run('tar', ['tzf', tarball]);
    const files = stdout.split('\n');
    for (const f of ['package/dist/src/sdk/index.js', 'package/dist/src/sdk/index.d.ts', 'package/dist/src/cli/main.js', 'package/bin/miprox.js', 'package/web/dist/app.js', 'package/examples/mipro.toml']) {
      expect(files).toContain(f);
    }
    expect(files.some((f) => f.startsWith('package/src/') || f.startsWith('package/test/'))).toBe(false);
  });

  it('is importable from the installed tarball, whose CLI and quickstart run', async () => {
    const { stdout } = await run(process.execPath, ['-e', importCheck], { cwd: project });
    expect(stdout.trim()).toBe('function function');
    const help = await run(process.execPath, [join(project, 'node_modules', 'miprox', 'bin', 'miprox.js'), '--help'], { cwd: project });
    expect(help.stdout).toMatch(/serve/);
    const quick = await run(process.execPath, ['--import', 'tsx', join('node_modules', 'miprox', 'examples', 'quickstart.ts')], {
      cwd: project, env: { ...process.env, MIPROX_BASE_URL: t.url, MIPROX_API_KEY: t.key, ROLLOUTS: '12' },
    });
    expect(quick.stdout).toMatch(/^job pl_[0-9a-f]+: succeeded/m);
  });

  // examples/rollout-loop.ts imported '../src/sdk/index.js', which the package does not ship: a user
  // who copied it beside the installed package (as the README says of the examples) got
  // ERR_MODULE_NOT_FOUND. Every example imports the SDK as 'miprox', like the quickstart.
  it('runs examples/rollout-loop.ts from the installed tarball', async () => {
    const loop = await run(process.execPath, ['--import', 'tsx', join('node_modules', 'miprox', 'examples', 'rollout-loop.ts'), '--rollouts', '12', '--stop'], {
      cwd: project, env: { ...process.env, MIPROX_BASE_URL: t.url, MIPROX_API_KEY: t.key },
    });
    expect(loop.stdout).toMatch(/^status: succeeded;/m);
  });
});
