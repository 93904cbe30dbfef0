#!/usr/bin/env node
// Typesets the TeX formulas of exported notebooks' HTML into inline SVG, offline, with MathJax
// (npm mathjax-full): the page then needs no script and no font to show them. Only the rendered
// Markdown cells are read ($…$, $$…$$, \(…\), \[…\]); code, outputs and <pre> blocks are left alone.
//
//   node kernel/browser/mathsvg.mjs FILE.html...
//
// Each file is rewritten in place (through a temporary file and a rename). It prints one line per
// file with the number of formulas, and exits 1 naming the file and formula when TeX has an error.

import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { mathjax } from 'mathjax-full/js/mathjax.js';
import { TeX } from 'mathjax-full/js/input/tex.js';
import { SVG } from 'mathjax-full/js/output/svg.js';
import { liteAdaptor } from 'mathjax-full/js/adaptors/liteAdaptor.js';
import { RegisterHTMLHandler } from 'mathjax-full/js/handlers/html.js';
import { AllPackages } from 'mathjax-full/js/input/tex/AllPackages.js';

const files = process.argv.slice(2);
if (files.length === 0 || files.some((f) => f.startsWith('-'))) {
  process.stderr.write('Usage: node kernel/browser/mathsvg.mjs FILE.html...\n');
  process.exit(2);
}

const adaptor = liteAdaptor();
RegisterHTMLHandler(adaptor);

/** Typesets one page; returns [html, formulas, errors]. */
function typeset(source) {
  const doc = mathjax.document(source, {
    InputJax: new TeX({
      // Without noerrors and noundefined, every TeX error becomes an <merror>, which is reported.
      packages: AllPackages.filter((p) => !['bussproofs', 'noerrors', 'noundefined'].includes(p)),
      inlineMath: [['$', '$'], ['\\(', '\\)']],
      displayMath: [['$$', '$$'], ['\\[', '\\]']],
      processEscapes: true,
    }),
    OutputJax: new SVG({ fontCache: 'global' }),
    // nbconvert's <body> has the class jp-Notebook: skip everything but rendered Markdown.
    ignoreHtmlClass: 'jp-Notebook|jp-OutputArea|jp-InputArea',
    processHtmlClass: 'jp-MarkdownOutput',
  });
  doc.render();
  const errors = [];
  let count = 0;
  for (const item of doc.math) {
    count++;
    // MathJax shows a TeX error (a missing brace, an unknown command) as an <merror> in the picture.
    if (adaptor.outerHTML(item.typesetRoot).includes('data-mml-node="merror"')) errors.push(item.math);
  }
  if (count === 0) adaptor.remove(doc.outputJax.svgStyles);
  return [adaptor.doctype(doc.document) + '\n' + adaptor.outerHTML(adaptor.root(doc.document)), count, errors];
}

let failed = false;
for (const file of files) {
  const [out, count, errors] = typeset(readFileSync(file, 'utf8'));
  if (errors.length) {
    failed = true;
    for (const e of errors) process.stderr.write(`${file}: TeX error in formula ${JSON.stringify(e)}\n`);
    continue;
  }
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, out);
  renameSync(tmp, file);
  console.log(`${file}: ${count} formula(s) typeset to SVG`);
}
process.exit(failed ? 1 : 0);
