// A private JupyterLab server for the browser test: its own Jupyter data, config and runtime
// directories and JupyterLab settings, the Mimicry kernel installed into that data directory by
// `mimicry kernel install`, listening on 127.0.0.1 with a random token.

import { spawn, execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Picks a free TCP port on 127.0.0.1. */
async function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** JupyterLab user settings: no news or update checks (nothing leaves the machine), and every cell
 * kept in the page (no windowing) so that the test sees all outputs. */
const labSettings = {
  '@jupyterlab/apputils-extension/notification.jupyterlab-settings': { checkForUpdates: false, fetchNews: 'false' },
  '@jupyterlab/notebook-extension/tracker.jupyterlab-settings': { windowingMode: 'none' },
};

/**
 * Installs the Mimicry kernel into a private Jupyter data directory under tmp, checks that Jupyter
 * lists it, and starts `jupyter lab` rooted at workDir. Returns {url, token, env, stop}.
 * @param {{jupyter: string, mimicry: string[], repo: string, tmp: string, workDir: string, log: string}} o
 */
export async function startLab(o) {
  const dirs = {};
  for (const d of ['data', 'config', 'runtime', 'settings', 'workspaces']) {
    dirs[d] = path.join(o.tmp, d);
    mkdirSync(dirs[d], { recursive: true });
  }
  for (const [file, value] of Object.entries(labSettings)) {
    const p = path.join(dirs.settings, file);
    mkdirSync(path.dirname(p), { recursive: true });
    writeFileSync(p, JSON.stringify(value, null, 2));
  }
  const env = {
    ...process.env,
    JUPYTER_DATA_DIR: dirs.data,
    JUPYTER_CONFIG_DIR: dirs.config,
    JUPYTER_RUNTIME_DIR: dirs.runtime,
    JUPYTERLAB_SETTINGS_DIR: dirs.settings,
    JUPYTERLAB_WORKSPACES_DIR: dirs.workspaces,
  };
  delete env.JUPYTER_PATH;
  delete env.JUPYTER_CONFIG_PATH;

  const [cmd, ...args] = o.mimicry;
  try {
    await run(cmd, [...args, 'kernel', 'install'], { cwd: o.repo, env, maxBuffer: 16 << 20 });
  } catch (e) {
    throw new Error(`mimicry kernel install failed: ${e.message}\n${e.stderr ?? ''}`);
  }
  const { stdout } = await run(o.jupyter, ['kernelspec', 'list', '--json'], { env });
  const specs = JSON.parse(stdout).kernelspecs;
  const spec = specs['gonb-mimicry'];
  if (!spec || spec.spec.display_name !== 'Go (Mimicry)') {
    throw new Error(`jupyter kernelspec list does not show gonb-mimicry "Go (Mimicry)": ${Object.keys(specs)}`);
  }

  const port = await freePort();
  const token = randomBytes(24).toString('hex');
  const logStream = createWriteStream(o.log);
  const proc = spawn(o.jupyter, [
    'lab', '--no-browser', '--ip=127.0.0.1', `--port=${port}`, '--ServerApp.port_retries=0',
    `--ServerApp.root_dir=${o.workDir}`, `--IdentityProvider.token=${token}`,
    '--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate', '--LabApp.extension_manager=readonly',
    ...(process.getuid?.() === 0 ? ['--allow-root'] : []), // CI runs as root
  ], { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  proc.stdout.pipe(logStream);
  proc.stderr.pipe(logStream);
  let exited = null;
  proc.on('exit', (code, signal) => { exited = { code, signal }; });

  const url = `http://127.0.0.1:${port}`;
  const deadline = Date.now() + 90_000;
  for (;;) {
    if (exited) throw new Error(`jupyter lab exited (${JSON.stringify(exited)}) before answering: see ${o.log}`);
    try {
      const r = await fetch(`${url}/api/status`, { headers: { Authorization: `token ${token}` } });
      if (r.ok) break;
    } catch { /* not listening yet */ }
    if (Date.now() > deadline) {
      process.kill(-proc.pid, 'SIGTERM');
      throw new Error(`jupyter lab did not answer on ${url} within 90 s: see ${o.log}`);
    }
    await new Promise((r) => setTimeout(r, 300));
  }

  const stop = async () => {
    if (exited) return;
    const done = new Promise((r) => proc.once('exit', r));
    process.kill(-proc.pid, 'SIGTERM'); // the server and the kernels it started
    const t = setTimeout(() => { if (!exited) process.kill(-proc.pid, 'SIGKILL'); }, 10_000);
    await done;
    clearTimeout(t);
  };
  return { url, token, env, kernelSpecDir: spec.resource_dir, stop };
}
