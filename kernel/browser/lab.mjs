#!/usr/bin/env node
// The browser test of Mimicry's notebooks: each notebook opened in JupyterLab in a real (headless)
// Chromium, run with "Run All Cells" on the "Go (Mimicry)" kernel, and checked in the page: no cell
// failed, every figure has a size, every live chart was redrawn while its cell ran, every formula
// was typeset. It saves a screenshot series of each notebook and the executed notebook (saved from
// JupyterLab) into --out, and exits 1 when a check failed. See README.md beside this file.

import { chromium } from 'playwright-core';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { fileURLToPath } from 'node:url';
import { startLab } from './server.mjs';
import { runNotebook } from './notebook.mjs';
import { screenshotPages } from './pages.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..', '..');

const usage = `Usage: node kernel/browser/lab.mjs [flags] NOTEBOOK.ipynb...

Flags:
  --jupyter PATH     the jupyter command of the environment with JupyterLab (default: jupyter on PATH)
  --mimicry PATH     a built mimicry binary (default: go run ./cmd/mimicry)
  --chromium PATH    Chromium (default: /usr/bin/chromium)
  --out DIR          screenshots, executed notebooks and results.json (default: build/lab)
  --timeout SEC      the longest one notebook may run (default: 1200)
  --inspect TEXT     ask for contextual help (Shift+Tab) right after TEXT in the first notebook
  --page FILE        also open FILE (an HTML page or an SVG figure) from disk, check it and
                     screenshot it; repeatable, and a directory stands for its .html and .svg files
  --fresh            delete runs/workshop first, so that training runs (and live charts draw)
`;

const { values: opt, positionals: notebooks } = parseArgs({
  allowPositionals: true,
  options: {
    jupyter: { type: 'string', default: 'jupyter' },
    mimicry: { type: 'string' },
    chromium: { type: 'string', default: '/usr/bin/chromium' },
    out: { type: 'string', default: path.join(repo, 'build', 'lab') },
    timeout: { type: 'string', default: '1200' },
    inspect: { type: 'string' },
    page: { type: 'string', multiple: true, default: [] },
    fresh: { type: 'boolean', default: false },
    help: { type: 'boolean', short: 'h', default: false },
  },
});
if (opt.help || (notebooks.length === 0 && opt.page.length === 0)) {
  process.stderr.write(usage);
  process.exit(opt.help ? 0 : 2);
}
for (const nb of notebooks) {
  if (!existsSync(nb) || !nb.endsWith('.ipynb')) {
    process.stderr.write(`${nb}: not a notebook file\n`);
    process.exit(2);
  }
}
const timeoutMs = Number(opt.timeout) * 1000;
if (!(timeoutMs > 0)) {
  process.stderr.write(`--timeout ${opt.timeout}: want a positive number of seconds\n`);
  process.exit(2);
}

const workshop = path.join(repo, 'runs', 'workshop');
if (opt.fresh) rmSync(workshop, { recursive: true, force: true });
else if (notebooks.length && existsSync(workshop)) {
  console.log(`note: ${workshop} exists: stages done before are read back, so their live charts will not draw (pass --fresh)`);
}

const outDir = path.resolve(opt.out);
mkdirSync(outDir, { recursive: true });
const tmp = mkdtempSync(path.join(os.tmpdir(), 'mimicry-lab-'));
const workDir = path.join(tmp, 'notebooks');
mkdirSync(workDir);
for (const nb of notebooks) copyFileSync(nb, path.join(workDir, path.basename(nb)));

const chromeArgs = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
  '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];

let lab;
let context;
const results = [];
let exitCode = 0;
const t0 = Date.now();
try {
  const mimicry = opt.mimicry ? [path.resolve(opt.mimicry)] : ['go', 'run', './cmd/mimicry'];
  if (notebooks.length) {
    lab = await startLab({ jupyter: opt.jupyter, mimicry, repo, tmp: path.join(tmp, 'jupyter'), workDir, log: path.join(outDir, 'jupyter.log') });
    console.log(`JupyterLab on ${lab.url} (kernelspec ${lab.kernelSpecDir}), ready after ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }
  context = await chromium.launchPersistentContext(path.join(tmp, 'chromium'), {
    executablePath: opt.chromium, headless: true, args: chromeArgs, viewport: { width: 1280, height: 900 },
  });
  const page = context.pages()[0] ?? await context.newPage();
  page.on('pageerror', (e) => console.log(`page error: ${e.message}`));
  for (const [i, nb] of notebooks.entries()) {
    const file = path.basename(nb);
    let r;
    try {
      r = await runNotebook(page, {
        url: lab.url, token: lab.token, file, source: nb, saved: path.join(workDir, file), outDir, timeoutMs,
        inspect: i === 0 ? opt.inspect : undefined,
      });
      copyFileSync(path.join(workDir, file), path.join(outDir, file));
      r.executed = path.join(outDir, file);
    } catch (e) {
      r = { name: path.basename(file, '.ipynb'), failures: [`${e.message.split('\n')[0]}`], checks: [], screenshots: [] };
      await page.screenshot({ path: path.join(outDir, `${r.name}-failed.png`) }).catch(() => {});
    }
    results.push(r);
    const status = r.failures.length ? 'FAIL' : 'ok  ';
    console.log(`${status} ${nb} (${(r.seconds ?? 0).toFixed(1)} s): ${r.checks.join('; ')}`);
    for (const c of r.charts ?? []) console.log(`     live chart in cell ${c.cell}: ${c.renders} redraws while running (${c.distinct} distinct)`);
    if (r.inspect !== undefined) console.log(`     contextual help after "${opt.inspect}": ${r.inspect ? JSON.stringify(r.inspect.slice(0, 160)) : 'none'}`);
    for (const f of r.failures) console.log(`     ${f}`);
    if (r.failures.length) exitCode = 1;
  }
  for (const r of await screenshotPages(page, opt.page.map((p) => path.resolve(p)), outDir)) {
    results.push(r);
    console.log(`${r.failures.length ? 'FAIL' : 'ok  '} ${r.name}: ${r.checks.join('; ')}`);
    for (const f of r.failures) console.log(`     ${f}`);
    if (r.failures.length) exitCode = 1;
  }
} catch (e) {
  console.log(`FAIL ${e.message}`);
  exitCode = 1;
} finally {
  await context?.close().catch(() => {});
  await lab?.stop().catch((e) => console.log(`stopping JupyterLab: ${e.message}`));
  rmSync(tmp, { recursive: true, force: true });
}
writeFileSync(path.join(outDir, 'results.json'), JSON.stringify(results, null, 2));
const failed = results.filter((r) => r.failures.length).length;
console.log(`browser test took ${((Date.now() - t0) / 1000).toFixed(0)} s; screenshots in ${outDir}`);
console.log(`browser: ${results.length - failed} passed, ${failed} failed`);
process.exit(exitCode);
