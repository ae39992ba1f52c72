import { configDefaults, defineConfig } from 'vitest/config'
import base, { LOAD_TESTS } from './vitest.config.js'

/** `npm run test:load`: the 10 s mixed workload of every door, with the default suite's setup and reporters. */
export default defineConfig({
  ...base,
  test: { ...base.test, include: LOAD_TESTS, exclude: configDefaults.exclude },
})
