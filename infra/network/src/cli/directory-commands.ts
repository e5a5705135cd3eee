import { readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { directory as dir } from '@lotse/contracts';
import { createClient, isServiceError, type PromiseClient } from '@lotse/grpc';
import { defaultDirectoryFile, loadDirectory, partnerDirectory } from '@lotse/lotsenhaus';
import { printToPdf } from './data-protection-commands.js';
import type { CliIo } from './run-cli.js';
import { errorReport, formatErrorReport } from './status-details.js';
import { sendingStoredToken, storedToken } from './login-command.js';
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

  flyer --municipality <code> --lang <l>       The newcomers' flyer: the offers and contacts serving
                                               the municipality, as <out>.html and <out>.pdf, in de, en,
                                               ar, uk, fa, prs (Dari), tr or ru, with a QR code to the
                                               directory's HSDS service list

Options:
  --out <path>          flyer: file name without extension (default: flyer-<municipality>-<lang>)
  --hsds-url <url>      flyer: the hub's public HSDS address for the QR code
                        (default: http://127.0.0.1:50053/hsds, the demo hub's HSDS_HTTP_PORT)
  --chromium <path>     flyer: the browser that prints the PDF (default: /usr/bin/chromium)
  --no-pdf              flyer: write the HTML only
  --at <agency>         the hub (default: lotsenhaus)
  --routing <file>      the hub's routing directory, for municipality names (default: the hub's)
  --as, --pki, --network, --deadline as for the other commands

Examples:
  pnpm lotse directory export --format hsds --out hsds-export
  pnpm lotse directory import --file other-directory.json --as caritas-koblenz
  pnpm lotse flyer --municipality andernach --lang ar
`;

export function isDirectoryCommand(argv: readonly string[]): boolean {
  const first = argv.find((a) => !a.startsWith('-'));
  return first === 'directory' || first === 'flyer';
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
  const client = createClient(dir.DirectoryServiceClient, target.address, { ca: tls.ca, cert: tls.cert, key: tls.key }, { deadlineMs, serverAgencyId: target.agencyId });
  // Directory edits need a signed-in supervisor of the partner: the token `pnpm lotse login` kept.
  return sendingStoredToken(client, await storedToken(values.network, as));
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
        return parseArgs({
          args: [...argv],
          allowPositionals: true,
          strict: true,
          options: {
            ...commonOptions,
            format: { type: 'string', default: 'hsds' },
            out: { type: 'string' },
            file: { type: 'string' },
            municipality: { type: 'string' },
            lang: { type: 'string' },
            'hsds-url': { type: 'string', default: 'http://127.0.0.1:50053/hsds' },
            chromium: { type: 'string', default: '/usr/bin/chromium' },
            'no-pdf': { type: 'boolean', default: false },
          },
        });
      } catch (error) {
        throw new UsageError((error as Error).message);
      }
    })();
    if (values.help) {
      io.stdout(directoryUsage);
      return 0;
    }
    if (positionals[0] === 'flyer') {
      if (positionals.length > 1) throw new UsageError(`unexpected argument "${positionals[1]}"`);
      const region = regionOf(values.routing);
      const municipality = region.municipalities.find((m) => m.code === values.municipality);
      if (!municipality) throw new UsageError(`--municipality: one of ${region.municipalities.map((m) => m.code).join(', ')}`);
      if (!values.lang || !partnerDirectory.flyerLanguages[values.lang]) throw new UsageError(`--lang: one of ${Object.keys(partnerDirectory.flyerLanguages).join(', ')}`);
      const client = await directoryClient(values);
      let html: string;
      try {
        const { organizations } = await client.listOrganizations({ municipalityCode: municipality.code });
        const qrUrl = `${values['hsds-url'].replace(/\/+$/, '')}/services?municipality=${encodeURIComponent(municipality.code)}`;
        html = await partnerDirectory.renderFlyer({ organizations, municipality, language: values.lang, qrUrl, at: new Date() });
      } finally {
        client.close();
      }
      const base = resolve((values.out ?? `flyer-${municipality.code}-${values.lang}`).replace(/\.(html|pdf)$/i, ''));
      await writeFile(`${base}.html`, html, 'utf8');
      io.stdout(`${base}.html\n`);
      if (!values['no-pdf']) {
        await printToPdf(`${base}.html`, `${base}.pdf`, values.chromium);
        io.stdout(`${base}.pdf\n`);
      }
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
