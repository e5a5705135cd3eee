// Issues the development CA and one certificate per deployment into a folder, e.g. for the
// docker-compose `certificates` job:
//   node --import tsx infra/network/src/issue-certificates.ts <dir> <id>:<agencyType>[:hostname,...] ...
// Idempotent: what is already in <dir> is kept, a leaf whose names changed is reissued (same key).
import { ensureDevPki, type DevDeployment } from '@lotse/pki';

class UsageError extends Error {}

const USAGE = 'usage: issue-certificates <dir> <id>:<agencyType>[:hostname,...] ...';

function parseDeployment(arg: string): DevDeployment {
  const [id, agencyType, hostnames, ...rest] = arg.split(':');
  if (!id || !agencyType || rest.length > 0) throw new UsageError(`"${arg}" is not <id>:<agencyType>[:hostname,...]`);
  const names = (hostnames ?? '').split(',').map((h) => h.trim()).filter(Boolean);
  return { id, agencyType, ...(names.length ? { hostnames: names } : {}) };
}

const [dir, ...specs] = process.argv.slice(2);
try {
  if (!dir || dir.startsWith('-') || specs.length === 0) throw new UsageError('a folder and at least one deployment are required');
  const deployments = specs.map(parseDeployment);
  await ensureDevPki(dir, deployments);
  for (const d of deployments) {
    process.stdout.write(`[pki] ${d.id} (${d.agencyType})${d.hostnames ? ` hostnames ${d.hostnames.join(',')}` : ''}: ${dir}/${d.id}.crt\n`);
  }
  process.stdout.write(`[pki] CA: ${dir}/ca.crt\n`);
} catch (error) {
  if (error instanceof UsageError) {
    process.stderr.write(`${error.message}\n${USAGE}\n`);
    process.exit(64); // EX_USAGE
  }
  process.stderr.write(`${(error as Error).message}\n`);
  process.exit(1);
}
