import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * The newest Node.js LTS line (26 "Lithium", Active LTS since 2026-10-28), which users should be able to run the
 * package on beside the Node 20 this machine has. Raise it when the next line becomes LTS.
 */
export const NEWEST_LTS_MAJOR = 26;

const cache = resolve(import.meta.dirname, '../../.test-servers');

/**
 * The folder of a `node` binary of the newest LTS, fetched once from the npm registry (the `node-linux-<arch>`
 * packages carry the official binaries and headers; the machine reaches no other download site) into
 * .test-servers/ (git-ignored). Its `include/` serves node-gyp as `npm_config_nodedir` for native modules.
 */
export function newestLtsNode(): { readonly binDir: string; readonly nodeDir: string } {
  const nodeDir = join(cache, `node-${NEWEST_LTS_MAJOR}`);
  const binDir = join(nodeDir, 'bin');
  if (!existsSync(join(binDir, 'node'))) {
    const downloads = join(cache, `node-${NEWEST_LTS_MAJOR}-download`);
    rmSync(downloads, { recursive: true, force: true });
    mkdirSync(downloads, { recursive: true });
    const arch = process.arch === 'arm64' ? 'arm64' : 'x64';
    const packed = spawnSync(
      'npm',
      ['pack', '--silent', `node-linux-${arch}@${NEWEST_LTS_MAJOR}`, '--pack-destination', downloads],
      { encoding: 'utf8', timeout: 300_000 },
    );
    if (packed.status !== 0)
      throw new Error(`npm pack node-linux-${arch}@${NEWEST_LTS_MAJOR}: ${packed.stderr}`);
    const [tarball] = readdirSync(downloads).filter((name) => name.endsWith('.tgz'));
    if (!tarball) throw new Error('npm pack made no tarball');
    mkdirSync(nodeDir, { recursive: true });
    const unpacked = spawnSync('tar', [
      'xzf',
      join(downloads, tarball),
      '-C',
      nodeDir,
      '--strip-components=1',
    ]);
    if (unpacked.status !== 0) throw new Error(`tar: ${unpacked.stderr}`);
    rmSync(downloads, { recursive: true, force: true });
  }
  return { binDir, nodeDir };
}
