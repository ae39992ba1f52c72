import { readdirSync, readFileSync } from 'node:fs'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import ts from 'typescript'
import { describe, expect, it } from 'vitest'

/**
 * The layering of src/ as the import graph shows it: the core talks to the world through its ports, the doors
 * translate and reach neither the database nor the HTTP server, and no module imports itself through others.
 * Type-only imports count: a cycle of types is still a cycle a reader has to untangle.
 */

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const SRC = path.join(ROOT, 'src')

type Graph = Map<string, string[]>

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name)
    if (entry.isDirectory()) return sourceFiles(full)
    return entry.name.endsWith('.ts') && !entry.name.endsWith('.d.ts') ? [full] : []
  })
}

/** Every relative import, export-from and dynamic import() under a folder, as paths relative to the checkout. */
function importGraph(dir = SRC): Graph {
  const graph: Graph = new Map()
  for (const file of sourceFiles(dir)) {
    const { importedFiles } = ts.preProcessFile(readFileSync(file, 'utf8'), true, true)
    const targets = importedFiles
      .map((imported) => imported.fileName)
      .filter((name) => name.startsWith('.'))
      .map((name) => path.relative(ROOT, path.resolve(path.dirname(file), name)).replace(/\.js$/, '.ts'))
    graph.set(path.relative(ROOT, file), [...new Set(targets)].sort())
  }
  return graph
}

/** The import cycles of a graph: one closed path per strongly connected component (Tarjan), first file first. */
function importCycles(graph: Graph): string[][] {
  let next = 0
  const index = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const components: string[][] = []
  const visit = (file: string) => {
    index.set(file, next)
    low.set(file, next)
    next++
    stack.push(file)
    onStack.add(file)
    for (const target of graph.get(file) ?? []) {
      if (!graph.has(target)) continue
      if (!index.has(target)) {
        visit(target)
        low.set(file, Math.min(low.get(file)!, low.get(target)!))
      } else if (onStack.has(target)) {
        low.set(file, Math.min(low.get(file)!, index.get(target)!))
      }
    }
    if (low.get(file) !== index.get(file)) return
    const component: string[] = []
    let member: string
    do {
      member = stack.pop()!
      onStack.delete(member)
      component.push(member)
    } while (member !== file)
    if (component.length > 1 || graph.get(file)!.includes(file)) components.push(component)
  }
  for (const file of [...graph.keys()].sort()) if (!index.has(file)) visit(file)
  // within a component every file reaches every other: a shortest way back from the first file names the cycle
  return components.map((component) => {
    const members = new Set(component)
    const start = [...component].sort()[0]!
    const cameFrom = new Map<string, string>()
    const queue = [start]
    while (queue.length > 0) {
      const file = queue.shift()!
      for (const target of graph.get(file) ?? []) {
        if (target === start) {
          const cycle = [file]
          while (cycle[0] !== start) cycle.unshift(cameFrom.get(cycle[0]!)!)
          return [...cycle, start]
        }
        if (members.has(target) && !cameFrom.has(target)) {
          cameFrom.set(target, file)
          queue.push(target)
        }
      }
    }
    return [...component, start]
  })
}

/** Which folders of src/ a layer may not import from. */
const FORBIDDEN: { from: string; not: string[] }[] = [
  {
    from: 'src/core/',
    not: ['src/db/', 'src/http/', 'src/protocols/', 'src/storage/', 'src/messaging/', 'src/context.ts'],
  },
  { from: 'src/protocols/', not: ['src/db/', 'src/http/'] },
]

/** Imports that cross a line FORBIDDEN draws, as `importer -> imported`. */
function forbiddenArrows(graph: Graph): string[] {
  const arrows: string[] = []
  for (const [file, targets] of graph) {
    for (const rule of FORBIDDEN) {
      if (!file.startsWith(rule.from)) continue
      for (const target of targets) {
        if (rule.not.some((folder) => target.startsWith(folder))) arrows.push(`${file} -> ${target}`)
      }
    }
  }
  return arrows.sort()
}

describe('the import graph of src/', () => {
  const graph = importGraph()

  it('is read from every module', () => {
    expect(graph.size).toBeGreaterThan(50)
    expect(graph.get('src/http/app.ts')).toContain('src/protocols/rest/index.ts')
  })

  it('has no arrow from the core to the database, HTTP or the doors, nor from a door to the database or HTTP', () => {
    expect(forbiddenArrows(graph)).toEqual([])
  })

  it('has no import cycle', () => {
    expect(importCycles(graph).map((cycle) => cycle.join(' -> '))).toEqual([])
  })

  it("has no import cycle in the web page's code either (web/src)", () => {
    const web = importGraph(path.join(ROOT, 'web', 'src'))
    expect(web.size).toBeGreaterThan(5)
    expect(importCycles(web).map((cycle) => cycle.join(' -> '))).toEqual([])
  })

  it('the checks see a cycle and a forbidden arrow when there is one', () => {
    const bad: Graph = new Map([
      ['src/db/a.ts', ['src/db/b.ts']],
      ['src/db/b.ts', ['src/db/c.ts', 'src/core/x.ts']],
      ['src/db/c.ts', ['src/db/a.ts']],
      ['src/core/x.ts', ['src/core/x.ts']],
      ['src/protocols/rest/y.ts', ['src/http/app.ts', 'src/core/x.ts']],
      ['src/core/z.ts', ['src/protocols/kit/ids.ts', 'src/db/a.ts']],
    ])
    expect(importCycles(bad).map((cycle) => cycle.join(' -> '))).toEqual([
      'src/core/x.ts -> src/core/x.ts',
      'src/db/a.ts -> src/db/b.ts -> src/db/c.ts -> src/db/a.ts',
    ])
    expect(forbiddenArrows(bad)).toEqual([
      'src/core/z.ts -> src/db/a.ts',
      'src/core/z.ts -> src/protocols/kit/ids.ts',
      'src/protocols/rest/y.ts -> src/http/app.ts',
    ])
  })
})
