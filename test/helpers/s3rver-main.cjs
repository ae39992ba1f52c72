// An S3-compatible server for the tests (s3rver) on 127.0.0.1 and a free port, in a process of its own so that
// its work does not share the test's event loop. Prints the port once listening; stops on SIGTERM.
const S3rver = require('s3rver')

const [directory, ...buckets] = process.argv.slice(2)
const server = new S3rver({
  address: '127.0.0.1',
  port: 0,
  silent: true,
  directory,
  configureBuckets: buckets.map((name) => ({ name })),
})
server.run().then(
  (address) => {
    process.stdout.write(`listening on ${address.port}\n`)
  },
  (error) => {
    process.stderr.write(`${error.stack}\n`)
    process.exit(1)
  },
)
process.on('SIGTERM', () => {
  server.close().finally(() => process.exit(0))
})
