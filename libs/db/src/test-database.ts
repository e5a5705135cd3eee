import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The PostgreSQL server that integration tests use (trust auth on this machine and in CI). */
export const testServerUrl = 'postgres://postgres@127.0.0.1:5432/postgres';

export interface TestDatabase {
  url: string;
  name: string;
  drop(): Promise<void>;
}

/** A fresh database on the real server for one suite; drop() removes it again. */
export async function createTestDatabase(prefix = 'lotse_test'): Promise<TestDatabase> {
  const name = `${prefix}_${randomBytes(5).toString('hex')}`;
  const admin = new pg.Client({ connectionString: testServerUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE "${name}"`);
  } finally {
    await admin.end();
  }
  const url = testServerUrl.replace(/\/postgres$/, `/${name}`);
  return {
    url,
    name,
    drop: async () => {
      const client = new pg.Client({ connectionString: testServerUrl });
      await client.connect();
      try {
        // A pool that was just closed may still be saying goodbye; forcing it off now would
        // surface as an uncaught FATAL in the test process. Give it a moment first.
        for (let i = 0; i < 50; i++) {
          const { rows } = await client.query<{ n: number }>('select count(*)::int as n from pg_stat_activity where datname = $1', [name]);
          if (rows[0]!.n === 0) break;
          await new Promise((r) => setTimeout(r, 100));
        }
        await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await client.end();
      }
    },
  };
}
