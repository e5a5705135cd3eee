import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs, promisify } from 'node:util';
import { Metadata, type ServiceError } from '@grpc/grpc-js';
import { dataProtection } from '@lotse/contracts';
import { createClient } from '@lotse/grpc';
import { storedToken } from './login-command.js';
import type { CliIo } from './run-cli.js';
import { errorReport, formatErrorReport } from './status-details.js';
import { readClientIdentity, resolveTarget, UsageError } from './target.js';

// Data-protection commands of `pnpm lotse`: verify an agency's audit chain, and fetch a newcomer's
// transparency report from the foreign office as HTML and PDF (printed by headless Chromium).

export const dataProtectionUsage = `Data-protection commands:
  audit-verify <agency>...                  Recompute each agency's hash-chained audit log; prints
                                            OK, or the first broken link (then exits with 1)
  report <newcomer-id>                      The newcomer's transparency report (Art. 15 GDPR),
                                            collected by the foreign office from every agency,
                                            written as <out>.html and <out>.pdf

Options:
  --lang <code>         report: de, en, ar, uk, fa, prs (Dari), tr, ru (default: the newcomer's)
  --out <path>          report: file name without extension (default: report)
  --at <agency>         report: the foreign office to ask (default: the network's foreign office)
  --caseworker <id>     sent as x-lotse-caseworker, recorded in the audit logs
  --known-head <seq>:<hash>
                        audit-verify: a head printed by an earlier run; rows cut off since are found
  --chromium <path>     report: the browser that prints the PDF (default: /usr/bin/chromium)
  --no-pdf              report: write the HTML only
  --as, --pki, --network, --deadline as for the other commands
  Each call sends the token pnpm lotse login kept for the agency whose certificate it presents.

Examples:
  pnpm lotse audit-verify kv-mayen-koblenz lotsenhaus caritas-koblenz --as console
  pnpm lotse login kv-mayen-koblenz --as dpo.kv-mayen-koblenz
  pnpm lotse report <newcomer id> --lang ar --out report
`;

const COMMANDS = new Set(['audit-verify', 'report']);

export function isDataProtectionCommand(argv: readonly string[]): boolean {
  const first = argv.find((a) => !a.startsWith('-'));
  return first !== undefined && COMMANDS.has(first);
}

interface NetworkDeployment {
  id: string;
  grpc: string;
  service?: string;
  agencyType?: string;
}

async function networkDeployments(networkFile: string): Promise<NetworkDeployment[]> {
  try {
    const parsed = JSON.parse(await readFile(networkFile, 'utf8')) as { deployments?: NetworkDeployment[] };
    return (parsed.deployments ?? []).filter((d) => typeof d.id === 'string' && typeof d.grpc === 'string');
  } catch {
    return [];
  }
}

function isServiceError(error: unknown): error is ServiceError {
  return typeof error === 'object' && error !== null && typeof (error as { code?: unknown }).code === 'number' && 'details' in error && 'metadata' in error;
}

/** Runs audit-verify or report; returns the exit code (0 ok, 1 broken chain or failed call, 2 usage). */
export async function runDataProtectionCli(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    const { values, positionals } = (() => {
      try {
        return parseArgs({
          args: [...argv],
          allowPositionals: true,
          strict: true,
          options: {
            as: { type: 'string' },
            pki: { type: 'string', default: '.lotse/pki' },
            network: { type: 'string', default: '.lotse/network.json' },
            deadline: { type: 'string', default: '30000' },
            lang: { type: 'string', default: '' },
            out: { type: 'string', default: 'report' },
            at: { type: 'string' },
            caseworker: { type: 'string' },
            'known-head': { type: 'string' },
            chromium: { type: 'string', default: '/usr/bin/chromium' },
            'no-pdf': { type: 'boolean', default: false },
            help: { type: 'boolean', short: 'h', default: false },
          },
        });
      } catch (error) {
        throw new UsageError((error as Error).message);
      }
    })();
    if (values.help) {
      io.stdout(dataProtectionUsage);
      return 0;
    }
    const deadlineMs = Number(values.deadline);
    if (!Number.isInteger(deadlineMs) || deadlineMs <= 0) throw new UsageError(`--deadline must be a positive number of milliseconds, not "${values.deadline}"`);
    const [command, ...rest] = positionals;
    // The token `pnpm lotse login` kept for the agency whose certificate the call presents.
    const metadata = async (as: string) => {
      const m = new Metadata();
      if (values.caseworker) m.set('x-lotse-caseworker', values.caseworker);
      const token = await storedToken(values.network, as);
      if (token) m.set('authorization', `Bearer ${token}`);
      return m;
    };
    const connect = async (addressOrAgency: string) => {
      const target = await resolveTarget(addressOrAgency, values.network);
      const as = values.as ?? target.agencyId;
      if (!as) throw new UsageError('the servers require a client certificate: name the agency to call as with --as <agency-id>');
      const tls = await readClientIdentity(values.pki, as);
      return { target, as, identity: { ca: tls.ca, cert: tls.cert, key: tls.key } };
    };

    if (command === 'audit-verify') {
      if (rest.length === 0) throw new UsageError('audit-verify takes one or more <agency> (an agency id of the network, or host:port)');
      let knownHead = { knownHeadSeq: 0, knownHeadHash: '' };
      if (values['known-head']) {
        const match = /^(\d+):([0-9a-f]{64})$/.exec(values['known-head']);
        if (!match) throw new UsageError('--known-head must look like <seq>:<sha256 hex>, as audit-verify prints it');
        knownHead = { knownHeadSeq: Number(match[1]), knownHeadHash: match[2]! };
      }
      let failed = false;
      for (const agency of rest) {
        const { target, as, identity } = await connect(agency);
        const client = createClient(dataProtection.DataProtectionServiceClient, target.address, identity, { deadlineMs, serverAgencyId: target.agencyId });
        try {
          const result = await client.verifyAuditChain(knownHead, { metadata: await metadata(as) });
          const name = result.agencyId || agency;
          if (result.ok) {
            io.stdout(`OK ${name}: ${result.rows} rows, head ${result.headSeq}:${result.headHash || '-'}\n`);
          } else {
            failed = true;
            io.stdout(`BROKEN ${name}: first broken link at row ${result.firstBroken?.seq}: ${result.firstBroken?.reason} (${result.rows} rows verified before it)\n`);
          }
        } catch (error) {
          if (!isServiceError(error)) throw error;
          failed = true;
          io.stderr(`${agency}: ${formatErrorReport(errorReport(error))}\n`);
        } finally {
          client.close();
        }
      }
      return failed ? 1 : 0;
    }

    if (command === 'report') {
      if (rest.length !== 1) throw new UsageError(`report takes one <newcomer-id>; got ${rest.length} argument(s)`);
      let at = values.at;
      if (!at) {
        const foreignOffice = (await networkDeployments(values.network)).find((d) => d.service === 'foreign-office' || d.agencyType === 'foreign-office');
        if (!foreignOffice) throw new UsageError(`no foreign office in ${values.network}: name it with --at <agency id or host:port>`);
        at = foreignOffice.id;
      }
      const { target, as, identity } = await connect(at);
      const client = createClient(dataProtection.TransparencyReportServiceClient, target.address, identity, { deadlineMs, serverAgencyId: target.agencyId });
      let report: dataProtection.GetTransparencyReportResponse;
      try {
        report = await client.getTransparencyReport({ newcomerId: rest[0]!, language: values.lang }, { metadata: await metadata(as) });
      } finally {
        client.close();
      }
      const base = resolve(values.out.replace(/\.(html|pdf)$/i, ''));
      const htmlFile = `${base}.html`;
      await writeFile(htmlFile, report.html, 'utf8');
      io.stdout(`${htmlFile}\n`);
      if (!values['no-pdf']) {
        const pdfFile = `${base}.pdf`;
        await printToPdf(htmlFile, pdfFile, values.chromium);
        io.stdout(`${pdfFile}\n`);
      }
      io.stdout(`language ${report.language} (${report.direction}), ${report.agencies.length} agencies asked`);
      io.stdout(report.unreachableAgencyIds.length ? `; not reachable: ${report.unreachableAgencyIds.join(', ')}\n` : '\n');
      return 0;
    }
    throw new UsageError(`unknown command "${command}"`);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`${error.message}\n(see pnpm lotse audit-verify --help)\n`);
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

/**
 * Prints an HTML file to PDF with headless Chromium (Debian's /usr/bin/chromium; CI installs it).
 * A fresh profile per run, so two runs never share a profile lock.
 */
export async function printToPdf(htmlFile: string, pdfFile: string, chromium = '/usr/bin/chromium'): Promise<void> {
  if (!existsSync(chromium)) throw new Error(`${chromium} not found: install Chromium (apt-get install -y chromium) or name it with --chromium`);
  const profile = await mkdtemp(join(tmpdir(), 'lotse-chromium-'));
  const output = resolve(pdfFile);
  await rm(output, { force: true });
  try {
    await promisify(execFile)(
      chromium,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-dev-shm-usage',
        '--no-first-run',
        '--no-pdf-header-footer',
        `--user-data-dir=${profile}`,
        `--print-to-pdf=${output}`,
        pathToFileURL(resolve(htmlFile)).href,
      ],
      { timeout: 90_000, cwd: dirname(output) },
    );
  } finally {
    await rm(profile, { recursive: true, force: true });
  }
  const size = await stat(output).then((s) => s.size, () => 0);
  if (size === 0) throw new Error(`Chromium wrote no PDF to ${output}`);
  const header = (await readFile(output)).subarray(0, 5).toString('latin1');
  if (header !== '%PDF-') throw new Error(`${output} is not a PDF`);
}
