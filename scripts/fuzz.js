#!/usr/bin/env node
// The long fuzz run: `npm run fuzz -- [MESSAGES] [SEED]` (default 20,000 messages, a seed from the clock).
// A failure names its seed and message number; rerun with that seed to reproduce it.
import { execFileSync } from 'node:child_process';

const [messages = '20000', seed = String(Date.now() % 1_000_000)] = process.argv.slice(2);
console.log(`fuzz: ${messages} messages, seed ${seed}`);
execFileSync(process.execPath, ['--import', 'tsx', '--test', 'test/fuzz/fuzz.test.ts'], {
  stdio: 'inherit',
  env: { ...process.env, IDLEHOOK_FUZZ_MESSAGES: messages, IDLEHOOK_FUZZ_SEED: seed },
});
