#!/usr/bin/env node
// The esbuild bundles idlehook runs as (the Lambda functions are bundled by the CDK construct, with the same
// choices: minified, source maps, module-first main fields). `node scripts/build.js` builds the CLI into dist/ (bin/idlehook.js loads dist/idlehook.mjs);
// `node scripts/build.js watcher` builds the watcher task's image contents into dist-watcher/.
// A minified bundle is about 10 MiB less resident memory for a running bridge than the same code loaded as ~350
// separate modules (docs/benchmarks.md). Type checking is `npm run typecheck`.
import { readFileSync, rmSync } from 'node:fs';
import { build } from 'esbuild';

const shared = {
  bundle: true,
  format: 'esm',
  platform: 'node',
  outExtension: { '.js': '.mjs' },
  // Minified names: the errors name themselves (IdlehookError.name). esbuild's keepNames would rename every
  // function as it is created, which cost about a tenth of the live rate (docs/benchmarks.md).
  minify: true,
  // Stack traces point into the sources under NODE_OPTIONS=--enable-source-maps.
  sourcemap: 'linked',
  // jsonc-parser's CommonJS entry loads its parts through a require() that a bundle cannot follow.
  mainFields: ['module', 'main'],
  // The bundled CommonJS dependencies call require() for Node's own modules.
  banner: {
    js: "import { createRequire as createRequireForBundle } from 'node:module'; const require = createRequireForBundle(import.meta.url);",
  },
  logLevel: 'warning',
};

const targets = new Map([
  [
    'cli',
    {
      entryPoints: { idlehook: 'src/cli/main.ts' },
      outdir: 'dist',
      target: 'node20',
      // Commands load what they need on first use (the AWS SDK, the management API, the doctor): separate chunks.
      splitting: true,
      chunkNames: 'chunks/[name]-[hash]',
      // A native module, loaded from node_modules at run time.
      external: ['better-sqlite3'],
      // `idlehook --version` answers from the package.json it was built from.
      define: {
        IDLEHOOK_VERSION: JSON.stringify(
          JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version,
        ),
      },
    },
  ],
  [
    'watcher',
    {
      entryPoints: ['containers/watcher/main.ts', 'containers/watcher/healthcheck.ts'],
      outdir: 'dist-watcher',
      target: 'node22',
    },
  ],
]);

const name = process.argv[2] ?? 'cli';
const target = targets.get(name);
if (!target) {
  console.error(`usage: node scripts/build.js [${[...targets.keys()].join(' | ')}]`);
  process.exit(2);
}
rmSync(new URL(`../${target.outdir}`, import.meta.url), { recursive: true, force: true });
await build({ ...shared, ...target });
