import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { directory as dir } from '@lotse/contracts';
import { createClient, isServiceError, type PromiseClient } from '@lotse/grpc';
import { defaultDirectoryFile, loadDirectory, partnerDirectory } from '@lotse/lotsenhaus';
import type { CliIo } from './run-cli.js';
import { errorReport, formatErrorReport } from './status-details.js';
import { readClientIdentity, resolveTarget, UsageError } from './target.js';

// The partner directory's commands of `pnpm lotse`: export it as HSDS 3.0, import another
// directory's HSDS file. They read and write through the hub's DirectoryService, with an
// agency's certificate like every other command.

export const directoryUsage = `Partner directory commands:
  directory export --format hsds --out <dir>   The directory as HSDS 3.0 JSON, one file per object
                                               (organizations.json, services.json, … services_full.json)
  directory import --file <hsds.json>          Another directory's HSDS file (a fully nested service,
                                               an array of them, or a page of them); the entries
                                               become the importing agency's (--as)

Options:
  --at <agency>         the hub (default: lotsenhaus)
  --routing <file>      the hub's routing directory, for municipality names (default: the hub's)
  --as, --pki, --network, --deadline as for the other commands

Examples:
  pnpm lotse directory export --format hsds --out hsds-export
  pnpm lotse directory import --file other-directory.json --as caritas-koblenz
`;

export function isDirectoryCommand(argv: readonly string[]): boolean {
  return argv.find((a) => !a.startsWith('-')) === 'directory';
}

export interface DirectoryCliOptions {
  as?: string;
  pki: string;
  network: string;
  deadline: string;
  at: string;
  routing: string;
}

/** A DirectoryService client at the hub, as --as (default: the hub's own certificate). */
export async function directoryClient(values: DirectoryCliOptions): Promise<PromiseClient<dir.DirectoryServiceClient>> {
  const deadlineMs = Number(values.deadline);
  if (!Number.isInteger(deadlineMs) || deadlineMs <= 0) throw new UsageError(`--deadline must be a positive number of milliseconds, not "${values.deadline}"`);
  const target = await resolveTarget(values.at, values.network);
  const as = values.as ?? target.agencyId;
  if (!as) throw new UsageError('the hub requires a client certificate: name the agency to call as with --as <agency-id>');
  const tls = await readClientIdentity(values.pki, as);
  return createClient(dir.DirectoryServiceClient, target.address, { ca: tls.ca, cert: tls.cert, key: tls.key }, { deadlineMs, serverAgencyId: target.agencyId });
}

export function regionOf(routingFile: string): partnerDirectory.HsdsContext {
  const region = loadDirectory(routingFile);
  return { region: region.region, municipalities: region.municipalities };
}

export const commonOptions = {
  as: { type: 'string' },
  pki: { type: 'string', default: '.lotse/pki' },
  network: { type: 'string', default: '.lotse/network.json' },
  deadline: { type: 'string', default: '30000' },
  at: { type: 'string', default: 'lotsenhaus' },
  routing: { type: 'string', default: defaultDirectoryFile },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

/** Runs directory export/import; returns the exit code (0 ok, 1 failed, 2 usage). */
export async function runDirectoryCli(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    const { values, positionals } = (() => {
      try {
        return parseArgs({ args: [...argv], allowPositionals: true, strict: true, options: { ...commonOptions, format: { type: 'string', default: 'hsds' }, out: { type: 'string' }, file: { type: 'string' } } });
      } catch (error) {
        throw new UsageError((error as Error).message);
      }
    })();
    if (values.help) {
      io.stdout(directoryUsage);
      return 0;
    }
    const [, sub, ...rest] = positionals;
    if (rest.length) throw new UsageError(`unexpected argument "${rest[0]}"`);
    if (sub === 'export') {
      if (values.format !== 'hsds') throw new UsageError(`--format: only "hsds" (HSDS 3.0 JSON), not "${values.format}"`);
      if (!values.out) throw new UsageError('directory export needs --out <dir>');
      const client = await directoryClient(values);
      try {
        const { organizations } = await client.listOrganizations({ municipalityCode: '' });
        const written = await partnerDirectory.writeHsdsExport(organizations, regionOf(values.routing), resolve(values.out));
        for (const w of written) io.stdout(`${w.file} (${w.items})\n`);
      } finally {
        client.close();
      }
      return 0;
    }
    if (sub === 'import') {
      if (!values.file) throw new UsageError('directory import needs --file <hsds.json>');
      let parsed: unknown;
      try {
        parsed = JSON.parse(await readFile(values.file, 'utf8'));
      } catch (error) {
        throw new UsageError(`${values.file}: ${(error as Error).message}`);
      }
      let orgs;
      try {
        orgs = partnerDirectory.fromHsds(parsed, regionOf(values.routing));
      } catch (error) {
        throw new UsageError(`${values.file}: ${(error as Error).message}`);
      }
      const client = await directoryClient(values);
      try {
        const results = await partnerDirectory.importHsds(client, orgs);
        for (const r of results) io.stdout(r.error ? `REFUSED ${r.entry}: ${r.error}\n` : `OK ${r.entry}\n`);
        const refused = results.filter((r) => r.error).length;
        io.stdout(`${results.length - refused} stored, ${refused} refused\n`);
        return refused ? 1 : 0;
      } finally {
        client.close();
      }
    }
    throw new UsageError(`directory takes export or import, not "${sub ?? ''}"`);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`${error.message}\n(see pnpm lotse directory --help)\n`);
      return 2;
    }
    if (isServiceError(error)) {
      io.stderr(`${formatErrorReport(errorReport(error))}\n`);
      return 1;
    }
    io.stderr(`ERROR: ${(error as Error).message ?? String(error)}\n`);
    return 1;
  }
}
