import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { describe, it } from 'node:test';
import { cyclesOf, importGraph, upwardImports } from '../support/import-graph.js';

/**
 * The layers of src/, lowest first: a file imports only its own layer and those below. The domain knows nothing
 * else; ports are types over the domain; the engine (IMAP watcher, pipeline stages, mailbox ownership) works
 * through ports; adapters implement ports; the HTTP apps serve a backend port; the one HTTP app (app/) mounts them; composition roots (compose/local,
 * compose/aws) wire it all; the CLI sits on top.
 */
const LAYERS = [
  ['domain'],
  ['config'],
  ['ports'],
  ['imap', 'pipeline', 'ownership'],
  ['adapters'],
  ['api', 'connect', 'dashboard'],
  ['app'],
  ['compose'],
  ['cli'],
];

describe('the architecture of src/', () => {
  const graph = importGraph(resolve(import.meta.dirname, '../../src'));

  it('has no import cycle', () => {
    assert.ok(graph.size > 100, `${graph.size} files read`);
    assert.deepEqual(cyclesOf(graph), []);
  });

  it('has no import that runs up the layers', () => {
    assert.deepEqual(upwardImports(graph, LAYERS), []);
  });

  it('catches a cycle and an upward import (the checks are live)', () => {
    const made = new Map([
      ['domain/a.ts', new Set(['config/b.ts'])],
      ['config/b.ts', new Set(['domain/a.ts'])],
      ['cli/c.ts', new Set(['domain/a.ts'])],
      ['elsewhere/d.ts', new Set<string>()],
    ]);
    assert.deepEqual(cyclesOf(made), [['config/b.ts', 'domain/a.ts']]);
    assert.deepEqual(upwardImports(made, LAYERS), [
      'domain/a.ts -> config/b.ts',
      'elsewhere/d.ts is in no layer',
    ]);
  });
});
