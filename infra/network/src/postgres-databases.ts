import pg from 'pg';

/**
 * One database per deployment on the given server (as each agency would have its own server):
 * postgres://host/lotse → lotse_kv_mayen_koblenz, lotse_lotsenhaus, … created when missing.
 */
export async function ensureDeploymentDatabase(serverUrl: string, deploymentId: string): Promise<string> {
  const url = new URL(serverUrl);
  const prefix = url.pathname.replace(/^\//, '') || 'lotse';
  const name = `${prefix}_${deploymentId.replace(/-/g, '_')}`;
  const adminUrl = new URL(serverUrl);
  adminUrl.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: adminUrl.toString() });
  await admin.connect();
  try {
    const exists = await admin.query('select 1 from pg_database where datname = $1', [name]);
    if (exists.rowCount === 0) {
      await admin.query(`CREATE DATABASE "${name}"`).catch((error) => {
        if (error.code !== '42P04') throw error; // created meanwhile
      });
    }
  } finally {
    await admin.end();
  }
  url.pathname = `/${name}`;
  return url.toString();
}
