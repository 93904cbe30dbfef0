// Drives one notebook in JupyterLab as a workshop attendee would: open it, make sure the kernel is
// "Go (Mimicry)", Run All from the Run menu, wait until every cell has run and the kernel is idle,
// then check the page and take screenshots.

import { readFileSync } from 'node:fs';
import path from 'node:path';

export const kernelDisplayName = 'Go (Mimicry)';

// The notebook panel on screen (JupyterLab hides the others).
const root = '.jp-NotebookPanel:not(.lm-mod-hidden)';

// The lines of a cell's standard error that show its program failed (the same as kernel.Scan).
const stderrFailure = /^(panic: |fatal error: |goroutine \d+ \[running\]:|(\^C)?exit status \d+\s*$|(\^C)?signal: [a-z])/m;

/** Reads the cells of a notebook file: [{type, source}], with {outputs, count} when asked. */
export function readCells(file, outputs = false) {
  const nb = JSON.parse(readFileSync(file, 'utf8'));
  return nb.cells.map((c) => ({
    type: c.cell_type,
    source: Array.isArray(c.source) ? c.source.join('') : c.source,
    ...(outputs ? { outputs: c.outputs ?? [], count: c.execution_count } : {}),
  }));
}

/** Installed in the page before Run All: records every rendering of a live chart (kernel/display's
 * `.mimicry-chart`) with the cell it is in and whether that cell was still running. */
function observeCharts(root) {
  window.__mimicryCharts = [];
  const cellOf = (el) => {
    const cell = el.closest('.jp-Cell');
    return cell ? [...document.querySelectorAll(`${root} .jp-Notebook .jp-Cell`)].indexOf(cell) : -1;
  };
  const record = (chart) => {
    const cell = chart.closest('.jp-Cell');
    const prompt = cell?.querySelector('.jp-InputArea-prompt')?.textContent ?? '';
    window.__mimicryCharts.push({
      cell: cellOf(chart),
      running: prompt.includes('*'),
      caption: chart.textContent.trim().slice(-200),
      svg: chart.querySelectorAll('svg').length,
      t: performance.now(),
    });
  };
  new MutationObserver((muts) => {
    for (const m of muts) {
      for (const n of m.addedNodes) {
        if (n.nodeType !== 1) continue;
        if (n.matches('.mimicry-chart')) record(n);
        n.querySelectorAll?.('.mimicry-chart').forEach(record);
      }
    }
  }).observe(document.body, { childList: true, subtree: true });
}

/** Collects what the checks need from the page, one entry per cell in notebook order. */
function inspectPage(root) {
  const cells = [...document.querySelectorAll(`${root} .jp-Notebook .jp-Cell`)];
  const figureSize = (el) => {
    const r = el.getBoundingClientRect();
    return { tag: el.tagName.toLowerCase(), w: Math.round(r.width), h: Math.round(r.height) };
  };
  return cells.map((cell) => {
    const kind = cell.classList.contains('jp-CodeCell') ? 'code' : cell.classList.contains('jp-MarkdownCell') ? 'markdown' : 'raw';
    const out = { kind, prompt: cell.querySelector('.jp-InputArea-prompt')?.textContent.trim() ?? '' };
    if (kind === 'code') {
      out.errors = [...cell.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.error"]')].map((e) => e.textContent.slice(0, 300));
      out.stderr = [...cell.querySelectorAll('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')].map((e) => e.textContent);
      // Top-level figures only: an <svg> nested in another (gonum/plot's) is part of it.
      out.figures = [...cell.querySelectorAll('.jp-OutputArea-output svg, .jp-OutputArea-output img')]
        .filter((el) => !el.parentElement.closest('svg')).map(figureSize);
      out.outputHeight = Math.round(cell.querySelector('.jp-Cell-outputWrapper')?.getBoundingClientRect().height ?? 0);
      out.wideOutputs = [...cell.querySelectorAll('.jp-OutputArea-output')]
        .filter((o) => o.scrollWidth > o.clientWidth + 2).map((o) => `${o.scrollWidth}px in ${o.clientWidth}px`);
    } else if (kind === 'markdown') {
      const md = cell.querySelector('.jp-RenderedMarkdown');
      out.rendered = !!md;
      out.math = md ? md.querySelectorAll('mjx-container').length : 0;
      let text = '';
      if (md) {
        const walker = document.createTreeWalker(md, NodeFilter.SHOW_TEXT, {
          acceptNode: (n) => (n.parentElement.closest('mjx-container, code, pre') ? NodeFilter.FILTER_REJECT : NodeFilter.FILTER_ACCEPT),
        });
        for (let n = walker.nextNode(); n; n = walker.nextNode()) text += n.data;
      }
      out.rawTeX = (text.match(/\$\$|\$[^$\s][^$]*\$|\\\(|\\\[/g) ?? []).slice(0, 3);
    }
    return out;
  });
}

/**
 * Opens file (a path relative to the server's root) in JupyterLab and runs it. Returns a result:
 * {name, seconds, failures: [string], checks: [string], screenshots: [path], charts}.
 * @param {import('playwright-core').Page} page
 */
export async function runNotebook(page, { url, token, file, source, saved, outDir, timeoutMs, inspect }) {
  const name = path.basename(file, '.ipynb');
  const res = { name, failures: [], checks: [], screenshots: [], charts: [] };
  const fail = (msg) => res.failures.push(msg);
  const start = Date.now();
  const cells = readCells(source);

  // ?reset: a fresh workspace, so JupyterLab does not reopen the previous notebook beside this one.
  await page.goto(`${url}/lab/tree/${encodeURIComponent(file)}?reset&token=${token}`);
  const panel = page.locator(root).first();
  await panel.waitFor({ timeout: 120_000 });
  await chooseKernel(page);
  const kernelName = (await panel.locator('.jp-Toolbar-kernelName').first().textContent({ timeout: 30_000 })).trim();
  if (kernelName !== kernelDisplayName) fail(`kernel is "${kernelName}", not "${kernelDisplayName}"`);
  // GoNB sends no status until its first request: JupyterLab shows "Unknown" until then.
  await waitReady(page, 120_000);
  res.checks.push(`kernel "${kernelName}" ready after ${((Date.now() - start) / 1000).toFixed(1)} s`);

  await page.evaluate(observeCharts, root);
  const runStart = Date.now();
  await page.locator('.lm-MenuBar-itemLabel', { hasText: /^Run$/ }).click();
  await page.locator('.lm-Menu-itemLabel', { hasText: /^Run All Cells$/ }).click();
  const finished = await waitAllRun(page, cells.filter((c) => c.type === 'code').length, timeoutMs);
  res.seconds = (Date.now() - runStart) / 1000;
  if (!finished) fail(`not finished within ${timeoutMs / 1000} s`);
  await waitMath(page);
  // Contextual help once the cells ran: GoNB's module then requires (and replaces) Mimicry.
  if (inspect) {
    // gopls may still be loading the packages: a person would press Shift+Tab again.
    const ident = inspect.split('.').pop();
    for (let i = 0; i < 3 && !res.inspect?.includes(ident); i++) {
      if (i > 0) await page.waitForTimeout(10_000);
      res.inspect = await inspectAt(page, inspect);
    }
    if (!res.inspect.includes(ident)) fail(`contextual help (Shift+Tab) after "${inspect}" does not mention ${ident}: ${JSON.stringify(res.inspect.slice(0, 120))}`);
  }

  const page_ = await page.evaluate(inspectPage, root);
  if (page_.length !== cells.length) fail(`the page shows ${page_.length} cells, the notebook has ${cells.length}`);
  const charts = await page.evaluate(() => window.__mimicryCharts);
  let figures = 0;
  let formulas = 0;
  page_.forEach((c, i) => {
    const where = `cell ${i + 1}${/\d/.test(c.prompt) ? ' ' + c.prompt.replace(/:$/, '') : ''}`;
    const src = cells[i]?.source ?? '';
    if (c.kind === 'code') {
      if (src.trim() && !/^\[\d+\]:$/.test(c.prompt)) fail(`${where}: not executed`);
      for (const e of c.errors) fail(`${where}: error output: ${e.trim().split('\n')[0]}`);
      for (const s of c.stderr) {
        const m = s.match(stderrFailure);
        if (m) fail(`${where}: standard error shows "${m[0].trim()}"`);
      }
      for (const f of c.figures) {
        figures++;
        if (!(f.w > 0 && f.h > 0)) fail(`${where}: a <${f.tag}> figure of size ${f.w}×${f.h}`);
      }
      for (const w of c.wideOutputs) res.checks.push(`${where}: output scrolls sideways (${w})`);
      if (/display\.NewChart\(/.test(src)) {
        const mine = charts.filter((r) => r.cell === i && r.running);
        const distinct = new Set(mine.map((r) => r.caption)).size;
        res.charts.push({ cell: i + 1, renders: mine.length, distinct });
        if (distinct < 2) fail(`${where}: the live chart was drawn ${mine.length} time(s) while the cell ran (${distinct} distinct), want at least 2`);
      }
    } else if (c.kind === 'markdown') {
      const hasTeX = /\$[^$]+\$/.test(src);
      if (!c.rendered) fail(`${where}: markdown not rendered`);
      if (hasTeX && c.math === 0) fail(`${where}: formulas not typeset (no MathJax output)`);
      if (c.rawTeX.length) fail(`${where}: raw TeX left in the text: ${c.rawTeX.join(' ')}`);
      formulas += c.math;
    }
  });
  res.checks.push(`${figures} figure(s), ${formulas} formula(s), ${res.charts.length} live chart(s)`);

  res.screenshots = await screenshots(page, outDir, name);
  // Save as a person would (File > Save), so the executed notebook can be exported and scanned.
  await page.keyboard.press('Control+s');
  await page.waitForTimeout(500);
  await waitSaved(page);
  await closeAndShutDown(page);
  // JupyterLab renders an error output as standard error text: the saved notebook says which it was.
  readCells(saved, true).forEach((c, i) => {
    for (const o of c.outputs) {
      if (o.output_type === 'error') {
        const msg = `${o.ename}: ${String(o.evalue).split('\n')[0]}`.slice(0, 300);
        fail(`cell ${i + 1}${c.count ? ` [${c.count}]` : ''}: error output: ${msg}`);
      }
    }
  });
  return res;
}

/** File > Close and Shut Down Notebook, so the next notebook starts alone with its own kernel. */
export async function closeAndShutDown(page) {
  await page.locator('.lm-MenuBar-itemLabel', { hasText: /^File$/ }).click();
  await page.locator('.lm-Menu-itemLabel', { hasText: /^Close and Shut Down Notebook/ }).click();
  const dialog = page.locator('.jp-Dialog');
  await dialog.waitFor({ timeout: 10_000 }).then(() => dialog.locator('.jp-mod-accept').click()).catch(() => {});
  await page.locator(root).waitFor({ state: 'detached', timeout: 30_000 });
}

/** Answers JupyterLab's kernel chooser, when it asks, with the Mimicry kernel. */
async function chooseKernel(page) {
  const dialog = page.locator('.jp-Dialog');
  try {
    await dialog.waitFor({ timeout: 3000 });
  } catch {
    return; // the notebook's metadata named the kernel
  }
  await dialog.locator('select').selectOption({ label: kernelDisplayName });
  await dialog.locator('.jp-mod-accept').click();
}

/** Waits until the notebook's kernel is started and connected (idle, or unknown for GoNB). */
async function waitReady(page, timeoutMs) {
  await page.locator(`${root} .jp-Notebook-ExecutionIndicator:is([data-status="idle"], [data-status="unknown"])`).first()
    .waitFor({ state: 'attached', timeout: timeoutMs }).catch(() => {
      throw new Error(`the kernel was not ready within ${timeoutMs / 1000} s`);
    });
}

/** Waits until no cell is queued or running ([*]), the kernel has been idle for two seconds, and
 * at least one code cell ran. Returns false on timeout. */
async function waitAllRun(page, codeCells, timeoutMs) {
  const deadline = Date.now() + timeoutMs;
  let idleSince = 0;
  while (Date.now() < deadline) {
    const st = await page.evaluate((root) => {
      const prompts = [...document.querySelectorAll(`${root} .jp-Notebook .jp-CodeCell .jp-InputArea-prompt`)].map((p) => p.textContent);
      const ind = document.querySelector(`${root} .jp-Notebook-ExecutionIndicator`);
      return { pending: prompts.filter((p) => p.includes('*')).length, ran: prompts.filter((p) => /\d/.test(p)).length, status: ind?.dataset.status };
    }, root);
    if (st.pending === 0 && st.status === 'idle' && (st.ran > 0 || codeCells === 0)) {
      if (!idleSince) idleSince = Date.now();
      if (Date.now() - idleSince >= 2000) return true;
    } else {
      idleSince = 0;
    }
    await page.waitForTimeout(500);
  }
  return false;
}

/** Waits (up to 30 s) until MathJax has typeset every markdown cell that holds TeX. */
async function waitMath(page) {
  await page.waitForFunction((root) => [...document.querySelectorAll(`${root} .jp-RenderedMarkdown`)]
    .every((md) => !/\$[^$]+\$/.test(md.textContent) || md.querySelector('mjx-container')), root, { timeout: 30_000 }).catch(() => {});
}

/** Waits until JupyterLab shows the notebook as saved (no dirty mark on its tab). */
async function waitSaved(page) {
  await page.waitForFunction(() => !document.querySelector('.lm-TabBar-tab.lm-mod-current.jp-mod-dirty'), null, { timeout: 30_000 })
    .catch(() => { throw new Error('the notebook was not saved within 30 s'); });
}

/** Screenshots the notebook from top to bottom, one viewport at a time: outDir/<name>-NN.png. */
async function screenshots(page, outDir, name) {
  const scroller = `${root} .jp-WindowedPanel-outer`;
  const { height, view } = await page.evaluate((sel) => {
    const s = document.querySelector(sel);
    s.scrollTop = 0;
    // The end of the last cell, not scrollHeight: JupyterLab leaves blank room after it.
    const cells = s.querySelectorAll('.jp-Cell');
    const last = cells[cells.length - 1];
    const end = last ? last.getBoundingClientRect().bottom - s.getBoundingClientRect().top + 20 : s.scrollHeight;
    return { height: Math.min(s.scrollHeight, end), view: s.clientHeight };
  }, scroller);
  const step = Math.max(200, view - 60); // a little overlap, so nothing falls between two pictures
  const files = [];
  for (let y = 0, i = 1; ; y += step, i++) {
    await page.evaluate(([sel, top]) => { document.querySelector(sel).scrollTop = top; }, [scroller, y]);
    await page.waitForTimeout(150);
    const f = path.join(outDir, `${name}-${String(i).padStart(2, '0')}.png`);
    await page.screenshot({ path: f });
    files.push(f);
    if (y + view >= height || i >= 60) break;
  }
  return files;
}

/** Asks for contextual help as a person would: clicks right after the first occurrence of text in
 * a code cell and presses Shift+Tab. Returns the tooltip's text (empty when none appeared within
 * 60 s). */
async function inspectAt(page, text) {
  const box = await page.evaluate(([root, t]) => {
    // CodeMirror splits a line into one span per token: find text in a whole line, then the text
    // node and offset of its last character.
    for (const line of document.querySelectorAll(`${root} .jp-CodeCell .cm-line`)) {
      const i = line.textContent.indexOf(t);
      if (i < 0) continue;
      let last = i + t.length - 1;
      const walker = document.createTreeWalker(line, NodeFilter.SHOW_TEXT);
      for (let n = walker.nextNode(); n; n = walker.nextNode()) {
        if (last >= n.data.length) {
          last -= n.data.length;
          continue;
        }
        line.scrollIntoView({ block: 'center' });
        const r = document.createRange();
        r.setStart(n, last);
        r.setEnd(n, last + 1);
        const b = r.getBoundingClientRect();
        return { x: b.right - 1, y: b.top + b.height / 2 };
      }
    }
    return null;
  }, [root, text]);
  if (!box) throw new Error(`contextual help: no line of a code cell shows "${text}"`);
  await page.mouse.click(box.x, box.y);
  await page.keyboard.press('Shift+Tab');
  const tip = page.locator('.jp-Tooltip');
  try {
    await tip.waitFor({ timeout: 60_000 });
  } catch {
    return '';
  }
  const content = (await tip.textContent()).trim();
  await page.keyboard.press('Escape');
  return content;
}
