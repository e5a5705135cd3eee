import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { TlsFiles } from './reflection-client.js';

/** The part of the launcher's .lotse/network.json this client reads. */
interface NetworkFile {
  deployments?: { id?: unknown; grpc?: unknown }[];
}

export interface Target {
  /** host:port to dial. */
  address: string;
  /** Set when the target was named by agency id; the default identity to present. */
  agencyId?: string;
}

/** A usage problem the user can fix (bad argument, missing file); main prints it without a stack. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/**
 * host:port is used as given; anything else is taken as an agency id and looked up in the
 * network file the launcher writes. A colon never appears in an agency id (they are DNS names)
 * and always in an address, so the two cannot be confused.
 */
export async function resolveTarget(addressOrAgency: string, networkFile: string): Promise<Target> {
  if (addressOrAgency.includes(':')) return { address: addressOrAgency };
  const deployments = await readDeployments(networkFile);
  const deployment = deployments.find((d) => d.id === addressOrAgency);
  if (!deployment) {
    const known = deployments.map((d) => d.id).join(', ') || 'none';
    throw new UsageError(`"${addressOrAgency}" is neither host:port nor an agency in ${networkFile} (agencies: ${known})`);
  }
  return { address: deployment.grpc, agencyId: deployment.id };
}

async function readDeployments(networkFile: string): Promise<{ id: string; grpc: string }[]> {
  let text: string;
  try {
    text = await readFile(networkFile, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
      throw new UsageError(`${networkFile} does not exist: start the network first, or give the address as host:port`);
    }
    throw error;
  }
  let parsed: NetworkFile;
  try {
    parsed = JSON.parse(text) as NetworkFile;
  } catch (error) {
    throw new UsageError(`${networkFile} is not valid JSON: ${(error as Error).message}`);
  }
  return (parsed.deployments ?? []).flatMap((d) => (typeof d.id === 'string' && typeof d.grpc === 'string' ? [{ id: d.id, grpc: d.grpc }] : []));
}

/** The CA and the agency's certificate and key, as the development PKI lays them out. */
export async function readClientIdentity(pkiDir: string, agencyId: string): Promise<TlsFiles> {
  // Agency ids are DNS names; anything else (a path, say) would read files outside the PKI folder.
  if (!/^[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?$/i.test(agencyId)) throw new UsageError(`"${agencyId}" is not an agency id`);
  const read = async (file: string): Promise<Buffer> => {
    const path = join(pkiDir, file);
    try {
      return await readFile(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        throw new UsageError(`${path} does not exist: is ${agencyId} an agency of this network, and --pki its certificate folder?`);
      }
      throw error;
    }
  };
  const [ca, cert, key] = await Promise.all([read('ca.crt'), read(`${agencyId}.crt`), read(`${agencyId}.key`)]);
  return { ca, cert, key };
}
