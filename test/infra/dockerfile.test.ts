import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';

// No container engine runs here: the watcher's Dockerfile is checked for the properties a build on any host
// depends on, and its bundle is built the way the image's build stage builds it.
const root = resolve(import.meta.dirname, '../..');
const dockerfile = readFileSync(join(root, 'containers/watcher/Dockerfile'), 'utf8');
const instructions = dockerfile
  .split('\n')
  .map((line) => line.trim())
  .filter((line) => line && !line.startsWith('#'));
const stages: string[][] = [];
for (const line of instructions) {
  if (/^FROM /i.test(line)) stages.push([]);
  stages[stages.length - 1]?.push(line);
}

/** Whether a .dockerignore allow-list ("*" then "!path") lets `path` into the build context. */
function inContext(path: string): boolean {
  const rules = readFileSync(join(root, '.dockerignore'), 'utf8')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
  let included = true;
  for (const rule of rules) {
    const negated = rule.startsWith('!');
    const pattern = (negated ? rule.slice(1) : rule).replace(/\/$/, '');
    const matches = pattern === '*' || path === pattern || path.startsWith(`${pattern}/`);
    if (matches) included = negated;
  }
  return included;
}

describe('the watcher image', () => {
  it('builds its bundle on the build platform and runs no command in the ARM64 stage (no QEMU on x86 hosts)', () => {
    assert.equal(stages.length, 2);
    const [build, target] = stages;
    assert.match(build?.[0] ?? '', /^FROM --platform=\$BUILDPLATFORM /);
    assert.doesNotMatch(target?.[0] ?? '', /--platform/);
    assert.deepEqual(
      target?.filter((line) => /^RUN /i.test(line)),
      [],
      'the target stage only copies',
    );
  });

  it('copies only what the allow-list lets into the context, and nothing else is in it', () => {
    const copied = (stages[0] ?? [])
      .filter((line) => /^COPY /i.test(line) && !/--from=/.test(line))
      .flatMap((line) => line.split(/\s+/).slice(1, -1));
    assert.ok(copied.length >= 5);
    for (const path of copied) assert.ok(inContext(path), `${path} is in the build context`);
    for (const path of ['README.md', 'node_modules/x', 'test/unit/x.ts', 'dist/cli.js', 'infra/app.ts'])
      assert.equal(inContext(path), false, `${path} stays out: editing it must not roll the watcher tasks`);
  });

  it('runs the files the build stage makes: CMD and HEALTHCHECK name files of the bundle', () => {
    execFileSync(process.execPath, ['scripts/build.js', 'watcher'], { cwd: root, stdio: 'pipe' });
    const target = stages[1] ?? [];
    const named = target
      .filter((line) => /^(CMD|HEALTHCHECK) /.test(line))
      .map((line) => JSON.parse(line.slice(line.indexOf('['))) as string[])
      .map((command) => command[command.length - 1] ?? '');
    assert.deepEqual(named.sort(), ['healthcheck.mjs', 'main.mjs']);
    for (const file of named) assert.ok(existsSync(join(root, 'dist-watcher', file)), file);
  });
});
