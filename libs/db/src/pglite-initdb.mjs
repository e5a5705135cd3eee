// Creates an embedded database folder in a short-lived process of its own. initdb inside the
// service's process would leave ~500 MB of WebAssembly memory behind for the service's lifetime.
// Plain JavaScript so that it runs without the TypeScript loader.
import { PGlite } from '@electric-sql/pglite';

const db = await PGlite.create(process.argv[2]);
await db.close();
