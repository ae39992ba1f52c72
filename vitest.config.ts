import { configDefaults, defineConfig } from 'vitest/config'

/** The 10 s load test runs apart (`npm run test:load`, vitest.load.config.ts), not in the default `npm test`. */
export const LOAD_TESTS = ['test/hardening-load.test.ts']

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: [...configDefaults.exclude, ...LOAD_TESTS],
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 60_000,
    // a condition polled for (a page updating, a job ending) gets 5 s, not 1: the whole suite shares 2 cores
    expect: { poll: { timeout: 5_000 } },
    hookTimeout: 120_000,
    pool: 'forks',
    // each worker imports the app once and runs file after file in it: re-importing it for every file took about
    // a quarter of the embedded run. Files share no state but modules; each has its own database and server, and
    // restores what it spies on.
    isolate: false,
    reporters: ['default', './test/helpers/summary-reporter.ts'],
    // two cores: two files at a time keeps each file's database and server responsive
    maxWorkers: 2,
  },
})
