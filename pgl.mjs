import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';
import pg from 'pg';
const t0=Date.now();
const db = await PGlite.create('/tmp/pgltest');
console.log('created', Date.now()-t0);
const server = new PGLiteSocketServer({ db, port: 0, host: '127.0.0.1', maxConnections: 1 });
await server.start();
console.log(server.getServerConn?.(), Object.keys(server));
