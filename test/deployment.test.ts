import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { loadConfig } from '../src/config.js'
import { root } from './helpers/processes.js'

/**
 * The container image and the compose deployment, checked without a Docker engine (there is none where the tests
 * run): the files parse, every service, file and variable they name exists, and they say what the README says.
 * test/compiled.test.ts runs what the image runs (the compiled JavaScript) with node.
 */
const read = (file: string) => readFile(path.join(root, file), 'utf8')

interface Service {
  image?: string
  build?: string | { context: string }
  command?: string[]
  environment?: Record<string, string>
  depends_on?: string[] | Record<string, { condition: string }>
  deploy?: { replicas?: number }
  ports?: string[]
  volumes?: string[]
  restart?: string
  entrypoint?: string[]
}

async function compose(): Promise<{ services: Record<string, Service>; volumes: Record<string, unknown> }> {
  // `<<` merges and `*anchors` are YAML; `${VAR:?message}` is left for compose
  return parse(await read('docker-compose.yml'), { merge: true })
}

/** The Dockerfile's stages: FROM line and the instructions under it (continuation lines joined). */
async function dockerfileStages() {
  const lines = (await read('Dockerfile'))
    .replace(/\\\n\s*/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
  const stages: { from: string; instructions: string[] }[] = []
  for (const line of lines) {
    if (/^FROM /i.test(line)) stages.push({ from: line, instructions: [] })
    else stages.at(-1)?.instructions.push(line)
  }
  return { lines, stages }
}

describe('Dockerfile', () => {
  it('builds in one stage and runs compiled JavaScript on a Node LTS as a non-root user, with a health check', async () => {
    const { lines, stages } = await dockerfileStages()
    expect(stages.length).toBeGreaterThanOrEqual(2)
    const nodeVersion = Number(/^ARG NODE_VERSION=(\d+)$/m.exec(lines.join('\n'))?.[1])
    // even majors are the LTS lines
    expect(nodeVersion % 2).toBe(0)
    expect(nodeVersion).toBeGreaterThanOrEqual(22)
    for (const stage of stages)
      expect(stage.from).toMatch(/^FROM node:\$\{NODE_VERSION\}-bookworm-slim AS \w+$/)
    const [build, runtime] = [stages[0]!, stages.at(-1)!]
    const buildRuns = build.instructions.filter((line) => line.startsWith('RUN ')).join('\n')
    expect(buildRuns).toContain('npm ci')
    // npm run build compiles the server into build/ and the page into dist/web
    expect(buildRuns).toContain('npm run build ')
    expect(buildRuns).toContain('npm prune --omit=dev')
    // the runtime stage never compiles or installs: it copies what the build stage made
    expect(runtime.instructions.filter((line) => /^RUN .*npm /.test(line))).toEqual([])
    const user = runtime.instructions.find((line) => line.startsWith('USER '))
    expect(user).toBe('USER node')
    expect(runtime.instructions.indexOf(user!)).toBeLessThan(
      runtime.instructions.findIndex((line) => line.startsWith('CMD ')),
    )
    expect(runtime.instructions.find((line) => line.startsWith('HEALTHCHECK '))).toMatch(/\/readyz/)
    expect(runtime.instructions.find((line) => line.startsWith('CMD '))).toBe(
      'CMD ["node", "build/cli.js", "start"]',
    )
    expect(runtime.instructions).toContain('STOPSIGNAL SIGTERM')
  })

  it('copies only files that exist, the scripts it runs exist, and the compiled output lands where the server looks', async () => {
    const { lines } = await dockerfileStages()
    for (const line of lines.filter((line) => /^COPY (?!--from)/.test(line))) {
      const sources = line.split(/\s+/).slice(1, -1)
      for (const source of sources) expect(existsSync(path.join(root, source)), line).toBe(true)
    }
    const pkg = JSON.parse(await read('package.json'))
    expect(pkg.scripts.build).toBeDefined()
    expect(pkg.scripts.build).toBe('node scripts/build.mjs')
    const tsconfig = JSON.parse(await read('tsconfig.build.json'))
    // build/ sits where src/ does, so that paths the server resolves from its own files (migrations/, wsdl/,
    // dist/web/) are the same compiled and from source
    expect(tsconfig.compilerOptions).toMatchObject({ rootDir: 'src', outDir: 'build', noEmit: false })
    const ignored = (await read('.dockerignore')).split('\n')
    expect(ignored).toEqual(expect.arrayContaining(['node_modules', 'build', 'dist', 'data', '.git']))
  })
})

describe('docker-compose.yml', () => {
  it('PostgreSQL, MinIO and its bucket, a one-shot migration, two trashd replicas on S3 behind a proxy', async () => {
    const { services, volumes } = await compose()
    expect(Object.keys(services).sort()).toEqual([
      'migrate',
      'minio',
      'minio-init',
      'postgres',
      'proxy',
      'trashd',
    ])
    for (const [name, service] of Object.entries(services)) {
      // every dependency is a service here, every named volume is declared
      const dependencies = Array.isArray(service.depends_on)
        ? service.depends_on
        : Object.keys(service.depends_on ?? {})
      for (const dependency of dependencies) expect(Object.keys(services), name).toContain(dependency)
      for (const volume of service.volumes ?? []) {
        const source = volume.split(':')[0]!
        if (source.startsWith('.')) expect(existsSync(path.join(root, source)), volume).toBe(true)
        else expect(Object.keys(volumes), volume).toContain(source)
      }
      expect(service.image ?? service.build, name).toBeDefined()
    }
    const { trashd, migrate, proxy, postgres } = services as Record<string, Service>
    expect(trashd!.deploy?.replicas).toBe(2)
    expect(trashd!.depends_on).toEqual({
      migrate: { condition: 'service_completed_successfully' },
      'minio-init': { condition: 'service_completed_successfully' },
    })
    expect(migrate!.command).toEqual(['node', 'build/cli.js', 'migrate'])
    expect(migrate!.restart).toBe('no')
    expect(services['minio-init']!.restart).toBe('no')
    expect(services['minio-init']!.entrypoint!.join(' ')).toContain('mc mb --ignore-existing store/trashd')
    // replicas are reached through the proxy only, and the proxy only from this machine
    expect(trashd!.ports).toBeUndefined()
    expect(proxy!.ports).toEqual(['127.0.0.1:8080:80'])
    expect(postgres!.ports).toBeUndefined()

    const env = trashd!.environment!
    expect(env).toEqual(migrate!.environment)
    expect(env).toMatchObject({
      BLOB_STORE: 's3',
      S3_BUCKET: 'trashd',
      S3_ENDPOINT: 'http://minio:9000',
      S3_FORCE_PATH_STYLE: 'true',
      TRUST_PROXY: '1',
      HOST: '0.0.0.0',
      PORT: '8080',
    })
    // every setting is one trashd knows (or the AWS chain's), and the values it would get are valid
    const withSecrets = Object.fromEntries(
      Object.entries(env).map(([key, value]) => [key, value.replace(/\$\{[^}]+\}/g, 'x'.repeat(24))]),
    )
    const config = loadConfig(withSecrets)
    for (const key of Object.keys(env)) {
      if (!key.startsWith('AWS_')) expect(Object.keys(config), key).toContain(key)
    }
  })

  it('has no passwords of its own: every secret comes from the environment and must be set', async () => {
    const text = await read('docker-compose.yml')
    const { services } = await compose()
    const secrets = /PASSWORD|SECRET|TOKEN|ACCESS_KEY|ROOT_USER/
    let checked = 0
    for (const service of Object.values(services)) {
      for (const [key, value] of Object.entries(service.environment ?? {})) {
        if (!secrets.test(key)) continue
        checked++
        expect(value, key).toMatch(/^\$\{[A-Z_]+:\?[^}]+\}$/)
      }
    }
    expect(checked).toBeGreaterThanOrEqual(6)
    expect(text).toMatch(
      /DATABASE_URL: postgres:\/\/trashd:\$\{POSTGRES_PASSWORD:\?[^}]+\}@postgres:5432\/trashd/,
    )
    const example = await read('deploy/example.env')
    for (const variable of [
      'POSTGRES_PASSWORD',
      'MINIO_ROOT_USER',
      'MINIO_ROOT_PASSWORD',
      'TRASHD_ADMIN_TOKEN',
    ]) {
      expect(text).toContain(`\${${variable}:?`)
      expect(example).toMatch(new RegExp(`^${variable}=`, 'm'))
    }
    expect(example).toMatch(/^POSTGRES_PASSWORD=$/m)
    expect(example).toMatch(/^TRASHD_ADMIN_TOKEN=$/m)
  })

  it('the proxy spreads requests over every trashd replica and streams events as they come', async () => {
    const caddyfile = await read('deploy/Caddyfile')
    expect(caddyfile).toMatch(/dynamic a \{\s*name trashd\s*port 8080/)
    expect(caddyfile).toMatch(/lb_policy round_robin/)
    expect(caddyfile).toMatch(/flush_interval -1/)
  })
})
