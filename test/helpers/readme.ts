/**
 * The README's examples as one bash script: every `sh` block that talks to the server through `$BASE` (and the
 * block that sets `BASE`), in the README's order. `curl` is wrapped so that an example that breaks stops the run:
 * a transport error, an HTTP status of 400 or more, or an error reported inside a 200 answer (a REST or IPS batch
 * with errors, an srv.asmx error attribute, a SOAP fault) fails with the README line. An example the README marks
 * `# refused: …` must be refused instead. `curl -N` (an event stream) may end at its `--max-time`.
 */

export interface ExampleBlock {
  /** 1-based line of the block's first command in the README */
  line: number
  lines: string[]
}

export function readmeExampleBlocks(markdown: string): ExampleBlock[] {
  const blocks: ExampleBlock[] = []
  const lines = markdown.split('\n')
  let current: ExampleBlock | null = null
  for (const [index, text] of lines.entries()) {
    if (text.startsWith('```')) {
      if (current) {
        const body = current.lines.join('\n')
        if (/\$BASE\b/.test(body) || /^BASE=/m.test(body)) blocks.push(current)
        current = null
      } else if (text.trim() === '```sh') {
        current = { line: index + 2, lines: [] }
      }
      continue
    }
    current?.lines.push(text)
  }
  return blocks
}

const PRELUDE = [
  'set -u',
  'LINE=0',
  `fail() { echo "README.md line $LINE: $1" >&2; [ -n "\${KEEP_GOING:-}" ] && return 1; exit 1; }`,
  'curl() {',
  '  local out code status',
  `  out=$(command curl -sS --max-time "\${CURL_MAX_TIME:-120}" -w '\\n%{http_code}' "$@")`,
  '  code=$?',
  `  status=\${out##*$'\\n'}`,
  `  out=\${out%$'\\n'*}`,
  `  printf '%s\\n' "$out"`,
  '  case " $* " in',
  '    *" -N "*) if [ "$code" = 28 ]; then return 0; fi ;;',
  '  esac',
  '  [ "$code" = 0 ] || { fail "curl exited with $code"; return 0; }',
  `  if [ -n "\${REFUSED:-}" ]; then`,
  `    [ "$status" -ge 400 ] || printf '%s' "$out" | grep -qE 'Fault>|success="false"|"errorCount":[1-9]' \\`,
  '      || fail "expected a refusal, got HTTP $status"',
  '    return 0',
  '  fi',
  `  [ "$status" -lt 400 ] || { fail "HTTP $status: $(printf '%s' "$out" | head -c 600)"; return 0; }`,
  `  if printf '%s' "$out" | grep -qE '"errorCount":[1-9]|<errorCount>[1-9]|<response[^>]* success="false"|Fault>'; then`,
  `    fail "an error in the answer: $(printf '%s' "$out" | head -c 600)"`,
  '  fi',
  '  return 0',
  '}',
].join('\n')

/** The script: the prelude, then each block's lines with the README line number kept in LINE. */
export function readmeExampleScript(blocks: ExampleBlock[], port: number): string {
  const body: string[] = []
  for (const block of blocks) {
    let continued = false
    for (const [offset, raw] of block.lines.entries()) {
      let text = raw.replace(/^PORT=8080\b/, `PORT=${port}`)
      // an example the README marks as refused must be refused
      if (/#\s*refused\b/.test(text)) text = `REFUSED=1 ${text}`
      if (!continued && text.trim() !== '' && !text.trim().startsWith('#'))
        body.push(`LINE=${block.line + offset}`)
      body.push(text)
      continued = text.endsWith('\\')
    }
  }
  return `${PRELUDE}\n${body.join('\n')}\necho "README examples: all ran"\n`
}
