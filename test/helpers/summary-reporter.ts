import path from 'node:path'
import type { Reporter, TestCase, TestModule } from 'vitest/node'
import './requirements.js'

/** The reason a skipped test carries: its own, or the nearest enclosing suite's (see test/helpers/requirements.ts). */
function skipReason(test: TestCase): string | undefined {
  const result = test.result()
  if (result.state !== 'skipped') return undefined
  if (result.note) return result.note
  let node: TestCase | TestCase['parent'] = test
  for (;;) {
    const reason = node.meta().skipReason
    if (reason) return reason
    if (node.type === 'module') return undefined
    node = node.parent
  }
}

/**
 * Prints why each skipped test was skipped (one line per file and reason, so a fresh machine's run says what it
 * left out and how to run it), then one plain closing line, `tests: N passed, N failed, N skipped`, that any CI
 * log reader can parse.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>) {
    let passed = 0
    let failed = 0
    let skipped = 0
    const reasons = new Map<string, number>()
    for (const module of testModules) {
      const file = path.relative(process.cwd(), module.moduleId)
      for (const test of module.children.allTests()) {
        const state = test.result().state
        if (state === 'passed') passed++
        else if (state === 'failed') failed++
        else {
          skipped++
          const key = `${file}: ${skipReason(test) ?? 'skipped without a reason'}`
          reasons.set(key, (reasons.get(key) ?? 0) + 1)
        }
      }
      if (module.state() === 'failed' && [...module.children.allTests()].length === 0) failed++
    }
    if (reasons.size > 0) {
      process.stdout.write('\nskipped:\n')
      for (const [reason, count] of reasons) process.stdout.write(`  ${count} in ${reason}\n`)
    }
    process.stdout.write(`\ntests: ${passed} passed, ${failed} failed, ${skipped} skipped\n`)
  }
}
