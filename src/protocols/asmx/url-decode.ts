/**
 * Query strings and form bodies decoded as ASP.NET's HttpUtility.UrlDecode does: `+` is a space, `%XX` bytes are
 * UTF-8, and `%uXXXX` is one UTF-16 code unit, the form .NET's HttpGet and HttpPost client proxies (Microsoft's
 * and Mono's) send every non-ASCII character in. A `%` that starts neither is kept as it is.
 */

const HEX2 = /^[0-9A-Fa-f]{2}$/
const HEX4 = /^[0-9A-Fa-f]{4}$/

export function aspNetUrlDecode(value: string): string {
  if (!value.includes('%') && !value.includes('+')) return value
  let out = ''
  let bytes: number[] = []
  const flush = () => {
    if (bytes.length === 0) return
    out += Buffer.from(bytes).toString('utf8')
    bytes = []
  }
  for (let i = 0; i < value.length; i++) {
    const c = value[i]!
    if (c === '+') {
      flush()
      out += ' '
      continue
    }
    if (c === '%') {
      const next = value[i + 1]
      if ((next === 'u' || next === 'U') && HEX4.test(value.slice(i + 2, i + 6))) {
        flush()
        out += String.fromCharCode(Number.parseInt(value.slice(i + 2, i + 6), 16))
        i += 5
        continue
      }
      if (HEX2.test(value.slice(i + 1, i + 3))) {
        bytes.push(Number.parseInt(value.slice(i + 1, i + 3), 16))
        i += 2
        continue
      }
    }
    flush()
    out += c
  }
  flush()
  return out
}

/**
 * `a=1&b=%u00e9` → `{ a: '1', b: 'é' }`; a name given twice keeps every value (ASP.NET joins them with commas).
 * A pair without `=` is a name with an empty value.
 */
export function parseAspNetForm(text: string): Record<string, string | string[]> {
  const values: Record<string, string | string[]> = Object.create(null)
  if (text === '') return values
  for (const pair of text.split('&')) {
    if (pair === '') continue
    const eq = pair.indexOf('=')
    const name = aspNetUrlDecode(eq < 0 ? pair : pair.slice(0, eq))
    const value = eq < 0 ? '' : aspNetUrlDecode(pair.slice(eq + 1))
    const seen = values[name]
    // (added to in place: a copy per repeat made a body of one name repeated 40,000 times take 13 s)
    if (seen === undefined) values[name] = value
    else if (Array.isArray(seen)) seen.push(value)
    else values[name] = [seen, value]
  }
  return values
}

/** The query string of a request URL, decoded as above. */
export function aspNetQuery(url: string): Record<string, string | string[]> {
  const start = url.indexOf('?')
  return parseAspNetForm(start < 0 ? '' : url.slice(start + 1))
}
