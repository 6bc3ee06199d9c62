#!/usr/bin/env node
// The bundled CLI (dist/ is built by `npm ci` / `npm install` through the prepare script, or `npm run build`).
import { existsSync } from 'node:fs';

const main = new URL('../dist/idlehook.mjs', import.meta.url);
if (!existsSync(main)) {
  console.error('idlehook is not built yet: run `npm run build` (npm ci and npm install do it for you).');
  process.exit(1);
}
await import(main.href);
