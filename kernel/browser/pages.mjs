// Static pages opened from disk, offline: the exported notebooks' HTML, `mimicry report`'s page and
// the report's SVG figures. Every request that leaves file:// is refused and counted as a failure,
// so a page that needs a CDN (a MathJax or require.js <script>) fails the test.

import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/** Expands directories into their .html and .svg files (sorted). */
function expand(paths) {
  const out = [];
  for (const p of paths) {
    if (statSync(p).isDirectory()) {
      out.push(...readdirSync(p).filter((f) => /\.(html|svg)$/.test(f)).sort().map((f) => path.join(p, f)));
    } else {
      out.push(p);
    }
  }
  return out;
}

/** Checks an HTML page in the browser: figures with a size, formulas typeset, no raw TeX left. */
function inspectHTML() {
  // Figures: top-level <svg> and <img>, not formulas nor MathJax's hidden glyph cache.
  const figs = [...document.querySelectorAll('svg, img')]
    .filter((el) => !el.parentElement.closest('svg') && !el.closest('mjx-container') && el.id !== 'MJX-SVG-global-cache');
  const sizes = figs.map((el) => { const r = el.getBoundingClientRect(); return [el.tagName.toLowerCase(), Math.round(r.width), Math.round(r.height)]; });
  const broken = [...document.images].filter((i) => !i.complete || i.naturalWidth === 0).map((i) => i.getAttribute('src'));
  let text = '';
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT, {
    acceptNode: (n) => (n.parentElement.closest('mjx-container, code, pre, script, style, .jp-OutputArea') ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT),
  });
  for (let n = walker.nextNode(); n; n = walker.nextNode()) text += n.data;
  return {
    sizes, broken,
    math: document.querySelectorAll('mjx-container').length,
    rawTeX: (text.match(/\$\$|\$[^$\s][^$]*\$|\\\(|\\\[/g) ?? []).slice(0, 3),
    scripts: [...document.scripts].map((s) => s.src).filter(Boolean),
    height: document.documentElement.scrollHeight,
    wide: document.documentElement.scrollWidth > window.innerWidth + 2,
  };
}

/**
 * Opens each file from disk and screenshots it into outDir/pages: an HTML page in viewport-high
 * sections (<name>-NN.png), an SVG figure as one picture at twice its size (<name>.png).
 * @param {import('playwright-core').Page} page
 */
export async function screenshotPages(page, paths, outDir) {
  const dir = path.join(outDir, 'pages');
  const results = [];
  const outside = [];
  await page.route(/^(?!file:)/, (route) => { outside.push(route.request().url()); return route.abort(); });
  try {
    for (const file of expand(paths)) {
      const name = path.basename(file).replace(/\.(html|svg)$/, (_, ext) => (ext === 'svg' ? '.svg' : ''));
      const r = { name: path.relative(process.cwd(), file), failures: [], checks: [], screenshots: [] };
      outside.length = 0;
      await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
      await page.waitForTimeout(300);
      if (file.endsWith('.svg')) {
        const png = path.join(dir, `${name}.png`);
        await page.setViewportSize({ width: 1280, height: 900 });
        const box = await page.locator('svg').first().boundingBox();
        if (!box || !(box.width > 0 && box.height > 0)) r.failures.push('the SVG has no size');
        else {
          await page.evaluate(() => { const s = document.querySelector('svg'); s.style.zoom = '2'; });
          await page.locator('svg').first().screenshot({ path: png });
          r.screenshots.push(png);
          r.checks.push(`${Math.round(box.width)}×${Math.round(box.height)} px`);
        }
      } else {
        const h = await page.evaluate(inspectHTML);
        const bad = h.sizes.filter(([, w, ht]) => !(w > 0 && ht > 0));
        if (bad.length) r.failures.push(`${bad.length} figure(s) without a size: ${JSON.stringify(bad.slice(0, 3))}`);
        if (h.broken.length) r.failures.push(`images that did not load: ${h.broken.slice(0, 3).join(', ')}`);
        if (h.rawTeX.length) r.failures.push(`raw TeX in the text: ${h.rawTeX.join(' ')}`);
        const remote = h.scripts.filter((s) => !s.startsWith('file:'));
        if (remote.length) r.failures.push(`scripts from outside: ${remote.join(', ')}`);
        if (h.wide) r.checks.push('the page scrolls sideways');
        r.checks.push(`${h.sizes.length} figure(s), ${h.math} formula(s)`);
        for (let y = 0, i = 1; y < h.height && i <= 40; y += 900, i++) {
          const png = path.join(dir, `${name}-${String(i).padStart(2, '0')}.png`);
          await page.evaluate((top) => window.scrollTo(0, top), y);
          await page.waitForTimeout(100);
          await page.screenshot({ path: png });
          r.screenshots.push(png);
        }
      }
      if (outside.length) r.failures.push(`requests outside the file: ${[...new Set(outside)].slice(0, 3).join(', ')}`);
      results.push(r);
    }
  } finally {
    await page.unroute(/^(?!file:)/);
  }
  return results;
}
