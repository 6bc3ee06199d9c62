// The import graph of a source tree, for the architecture test: which file imports which (relative imports,
// static and dynamic), its cycles, and the imports that run up the layers.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

/** Each file (relative to the root, e.g. "domain/retry.ts") and the files it imports. */
export type ImportGraph = ReadonlyMap<string, ReadonlySet<string>>;

export function importGraph(root: string): ImportGraph {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (path.endsWith('.ts')) files.push(path);
    }
  };
  walk(root);
  const graph = new Map<string, Set<string>>();
  for (const file of files) {
    const imports = new Set<string>();
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(/(?:\bfrom\s+|\bimport\s*\(\s*)['"](\.[^'"]+)['"]/g)) {
      const target = resolve(dirname(file), match[1] ?? '').replace(/\.js$/, '.ts');
      imports.add(relative(root, target));
    }
    graph.set(relative(root, file), imports);
  }
  return graph;
}

/** The import cycles: each a set of files that import each other, directly or around (Tarjan's algorithm). */
export function cyclesOf(graph: ImportGraph): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const cycles: string[][] = [];
  const visit = (file: string) => {
    index.set(file, next);
    low.set(file, next);
    next++;
    stack.push(file);
    onStack.add(file);
    for (const target of graph.get(file) ?? []) {
      if (!graph.has(target)) continue;
      if (!index.has(target)) {
        visit(target);
        low.set(file, Math.min(low.get(file) ?? 0, low.get(target) ?? 0));
      } else if (onStack.has(target)) low.set(file, Math.min(low.get(file) ?? 0, index.get(target) ?? 0));
    }
    if (low.get(file) === index.get(file)) {
      const component: string[] = [];
      let member: string | undefined;
      do {
        member = stack.pop();
        if (member === undefined) break;
        onStack.delete(member);
        component.push(member);
      } while (member !== file);
      if (component.length > 1) cycles.push(component.sort());
    }
  };
  for (const file of graph.keys()) if (!index.has(file)) visit(file);
  return cycles;
}

/**
 * Imports that run up the layers: `layers` lists groups of paths (a top folder, or a deeper folder such as
 * "adapters/aws"), lowest first; a file may import its own group and any lower one. The longest matching path
 * decides a file's group; a file in no group is reported too.
 */
export function upwardImports(graph: ImportGraph, layers: readonly (readonly string[])[]): string[] {
  const rankOf = (file: string): number | undefined => {
    let best: { length: number; rank: number } | undefined;
    layers.forEach((group, rank) => {
      for (const path of group)
        if ((file === path || file.startsWith(`${path}/`)) && path.length > (best?.length ?? -1))
          best = { length: path.length, rank };
    });
    return best?.rank;
  };
  const found: string[] = [];
  for (const [file, imports] of graph) {
    const from = rankOf(file);
    if (from === undefined) {
      found.push(`${file} is in no layer`);
      continue;
    }
    for (const target of imports) {
      const to = rankOf(target);
      if (to !== undefined && to > from) found.push(`${file} -> ${target}`);
    }
  }
  return found.sort();
}
