/**
 * The layout holds: docs/architecture.md's module map matches src/, imports follow it, there is no
 * folder-level cycle, production code does not load the development harness (src/dev/), and the
 * house limits of src/ (120 columns, 400 lines a file) are kept.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '../..');
const SRC = path.join(ROOT, 'src');
const rel = (abs: string) => path.relative(ROOT, abs).split(path.sep).join('/');

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const abs = path.join(dir, name);
    if (statSync(abs).isDirectory()) return tsFiles(abs);
    return name.endsWith('.ts') ? [abs] : [];
  });
}

interface Import {
  from: string;
  to: string;
  dynamic: boolean;
}

const IMPORT = /(?:^|[\s;])(?:import|export)\s[^'"`;]*?from\s*['"](\.[^'"]+)['"]|import\s*['"](\.[^'"]+)['"]/g;
const DYNAMIC = /import\(\s*['"](\.[^'"]+)['"]\s*\)/g;

/** Relative imports of one file, resolved to repository paths. */
function importsOf(file: string): Import[] {
  const text = readFileSync(file, 'utf8');
  const at = (spec: string) => rel(path.resolve(path.dirname(file), spec));
  const found: Import[] = [];
  for (const m of text.matchAll(IMPORT)) found.push({ from: rel(file), to: at(m[1] ?? m[2]!), dynamic: false });
  for (const m of text.matchAll(DYNAMIC)) found.push({ from: rel(file), to: at(m[1]!), dynamic: true });
  return found;
}

/** A file's module: its top folder under src/ (`flow/`) or, at the top, the file itself (`config.ts`). */
function moduleOf(repoPath: string): string | null {
  if (!repoPath.startsWith('src/')) return null;
  const [first, ...rest] = repoPath.slice(4).split('/');
  return rest.length ? `${first}/` : first!;
}

const srcFiles = tsFiles(SRC);
const srcImports = srcFiles.flatMap(importsOf);

/** The module map: `| \`src/x/\` | owns | \`a/\`, \`b.ts\` |` rows of docs/architecture.md. */
function moduleMap(): Map<string, Set<string>> {
  const doc = readFileSync(path.join(ROOT, 'docs/architecture.md'), 'utf8');
  const map = new Map<string, Set<string>>();
  for (const line of doc.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    const name = /^`src\/([^`]+)`$/.exec(cells[1] ?? '')?.[1];
    if (!name || cells.length < 5) continue;
    map.set(name, new Set([...cells[3]!.matchAll(/`([^`]+)`/g)].map((m) => m[1]!)));
  }
  return map;
}

/** Module-level edges, each with the file imports that make it. */
function moduleEdges(imports: readonly Import[]): Map<string, Map<string, string[]>> {
  const edges = new Map<string, Map<string, string[]>>();
  for (const i of imports) {
    const a = moduleOf(i.from);
    const b = moduleOf(i.to);
    if (!a || !b || a === b) continue;
    const out = edges.get(a) ?? new Map<string, string[]>();
    out.set(b, [...(out.get(b) ?? []), `${i.from} -> ${i.to}`]);
    edges.set(a, out);
  }
  return edges;
}

/** Known upward imports, each to be deleted when it goes (the test fails while a listed one no longer exists). */
const KNOWN_UPWARD = new Set<string>([]);

/** Files over a house limit while another branch splits them; delete a line once it is within both. */
const PENDING_SPLIT = new Set<string>([]);

describe('module map (docs/architecture.md)', () => {
  const map = moduleMap();
  const actual = new Set(srcFiles.map((f) => moduleOf(rel(f))!));

  it('lists every folder and top-level file of src/, and nothing that is gone', () => {
    expect([...actual].filter((m) => !map.has(m)).sort(), 'missing from the map').toEqual([]);
    expect([...map.keys()].filter((m) => !actual.has(m)).sort(), 'in the map, not in src/').toEqual([]);
  });

  it('allows every import src/ makes', () => {
    const refused: string[] = [];
    for (const [a, out] of moduleEdges(srcImports)) {
      for (const [b, via] of out) if (!map.get(a)?.has(b)) refused.push(`${a} may not import ${b}: ${via[0]}`);
    }
    expect(refused).toEqual([]);
  });
});

describe('import cycles', () => {
  it('no folder-level cycle (type-only imports count)', () => {
    const counted = srcImports.filter((i) => !KNOWN_UPWARD.has(`${i.from} -> ${i.to}`));
    const edges = moduleEdges(counted);
    const cycles: string[] = [];
    const state = new Map<string, 'open' | 'done'>();
    const walk = (m: string, trail: string[]) => {
      state.set(m, 'open');
      for (const [next, via] of edges.get(m) ?? []) {
        if (state.get(next) === 'open') cycles.push([...trail, m, next].join(' -> ') + ` (${via[0]})`);
        else if (!state.has(next)) walk(next, [...trail, m]);
      }
      state.set(m, 'done');
    };
    for (const m of [...edges.keys()].sort()) if (!state.has(m)) walk(m, []);
    expect(cycles).toEqual([]);
  });

  it('every known upward import still exists (delete it from KNOWN_UPWARD once gone)', () => {
    const present = new Set(srcImports.map((i) => `${i.from} -> ${i.to}`));
    expect([...KNOWN_UPWARD].filter((e) => !present.has(e))).toEqual([]);
  });
});

describe('production and harness', () => {
  it('only the CLI `simulate` command and `provflow demo` import src/dev/ from outside it', () => {
    const importers = srcImports
      .filter((i) => i.to.startsWith('src/dev/') && !i.from.startsWith('src/dev/'))
      .map((i) => `${i.from}${i.dynamic ? ' (lazy)' : ''}`);
    expect([...new Set(importers)].sort()).toEqual(['src/cli.ts (lazy)', 'src/commands/demo.ts']);
  });

  it('workers and every command but demo never load src/dev/ through static imports', () => {
    const all = [...srcImports, ...tsFiles(path.join(ROOT, 'workers')).flatMap(importsOf)];
    const next = new Map<string, string[]>();
    for (const i of all) if (!i.dynamic) next.set(i.from, [...(next.get(i.from) ?? []), i.to]);
    const starts = [
      ...tsFiles(path.join(ROOT, 'workers')).map(rel),
      'src/cli.ts',
      ...tsFiles(path.join(SRC, 'commands'))
        .map(rel)
        .filter((f) => f !== 'src/commands/demo.ts'),
    ];
    const reached: string[] = [];
    for (const start of starts) {
      const seen = new Set<string>();
      const stack: string[][] = [[start]];
      while (stack.length) {
        const trail = stack.pop()!;
        const file = trail.at(-1)!;
        if (seen.has(file)) continue;
        seen.add(file);
        if (file.startsWith('src/dev/')) {
          reached.push(trail.join(' -> '));
          continue;
        }
        for (const to of next.get(file) ?? []) stack.push([...trail, to]);
      }
    }
    expect(reached).toEqual([]);
  });
});

describe('house limits of src/', () => {
  const over = srcFiles.map((f) => {
    const lines = readFileSync(f, 'utf8').split('\n');
    return {
      file: rel(f),
      lines: lines.length - (lines.at(-1) === '' ? 1 : 0),
      wide: lines.flatMap((l, i) => ([...l].length > 120 ? [i + 1] : [])),
    };
  });

  it('no line over 120 characters, no file over 400 lines (outside files another branch is splitting)', () => {
    const bad = over
      .filter((o) => !PENDING_SPLIT.has(o.file) && (o.lines > 400 || o.wide.length))
      .map((o) => `${o.file}: ${o.lines} lines${o.wide.length ? `, over 120 columns at ${o.wide.join(', ')}` : ''}`);
    expect(bad).toEqual([]);
  });

  it('every file pending a split is still over a limit (delete it from PENDING_SPLIT once within)', () => {
    const within = over.filter((o) => PENDING_SPLIT.has(o.file) && o.lines <= 400 && !o.wide.length);
    const gone = [...PENDING_SPLIT].filter((f) => !over.some((o) => o.file === f));
    expect([...within.map((o) => o.file), ...gone]).toEqual([]);
  });
});
