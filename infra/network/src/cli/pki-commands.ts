import { copyFile, mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { ensureDevPki, installCertificate, requestCertificate, revoke, signCertificateRequest } from '@lotse/pki';
import type { CliIo } from './run-cli.js';
import { UsageError } from './target.js';

// Certificate lifecycle commands of `pnpm lotse` (issue 11): enrol a deployment by CSR, rotate its
// certificate, revoke a deployment or one certificate. The deployment's key is made in its own
// folder and never read by the CA's step; only the CSR and the certificate cross.

export const pkiUsage = `Certificate commands:
  enroll <deployment> --agency-type <type>  The deployment makes its key and a CSR in its folder
                                            (--dir, default: the network's PKI folder); the
                                            network's CA (--pki) signs the CSR; the certificate is
                                            installed next to the key. Add the deployment to the
                                            network's list so the broker has a user for it
  rotate <deployment> --agency-type <type>  The same with a new key; the old certificate stays
                                            valid (overlap) and is printed, to revoke later
  revoke <deployment> [--certificate <sha256 fingerprint>]
                                            Writes the CA-signed revocation list (<pki>/revoked.json):
                                            the deployment (or only that certificate). Deployments
                                            refuse its gRPC calls and events within 5 s; pnpm start
                                            reloads the broker without its user within 5 s

Options:
  --agency-type <type>  enroll, rotate: the OU of the certificate (foreign-office, lotsenhaus, …)
  --dir <folder>        enroll, rotate: the deployment's own folder (default: --pki)
  --pki <dir>           the CA's folder (default: .lotse/pki)

Examples:
  pnpm lotse enroll caritas-mayen --agency-type migration-services --dir /srv/caritas-mayen/pki
  pnpm lotse rotate caritas-koblenz --agency-type migration-services
  pnpm lotse revoke caritas-koblenz --certificate 1D:27:…:D1
  pnpm lotse revoke caritas-koblenz
`;

const commands = new Set(['enroll', 'rotate', 'revoke']);

export function isPkiCommand(argv: readonly string[]): boolean {
  return commands.has(argv[0] ?? '');
}

export async function runPkiCli(argv: readonly string[], io: CliIo): Promise<number> {
  try {
    const { values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        'agency-type': { type: 'string' },
        dir: { type: 'string' },
        pki: { type: 'string', default: '.lotse/pki' },
        certificate: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) {
      io.stdout(pkiUsage);
      return 0;
    }
    const [command, id, ...rest] = positionals;
    if (!id || rest.length > 0) throw new UsageError(`${command} takes one deployment id`);
    const pki = resolve(values.pki!);
    if (command === 'revoke') {
      const list = await revoke(pki, values.certificate ? { certificate: values.certificate } : { deployment: id });
      io.stdout(`revoked ${values.certificate ? `certificate ${values.certificate} of ${id}` : `deployment ${id}`}; ${join(pki, 'revoked.json')} now lists ${Object.keys(list.deployments).length} deployment(s), ${Object.keys(list.certificates).length} certificate(s)\n`);
      return 0;
    }
    const agencyType = values['agency-type'];
    if (!agencyType) throw new UsageError(`${command} needs --agency-type`);
    const dir = resolve(values.dir ?? pki);
    const deployment = { id, agencyType };
    // The network's CA (made on first use, as pnpm start does); it issues nothing else here.
    await ensureDevPki(pki, []);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    // The deployment's folder needs the CA's certificate (public) to check what it gets back.
    if (dir !== pki) await copyFile(join(pki, 'ca.crt'), join(dir, 'ca.crt'));
    await requestCertificate(dir, deployment, { rotate: command === 'rotate' });
    // The CA's step: the CSR only, as a file could carry it to another machine.
    const certificate = await signCertificateRequest(pki, await readFile(join(dir, `${id}.csr`), 'utf8'), deployment);
    const installed = await installCertificate(dir, id, certificate);
    io.stdout(
      `${command === 'rotate' ? 'rotated' : 'enrolled'} ${id}: key ${join(dir, `${id}.key`)} (made here, never sent), certificate ${join(dir, `${id}.crt`)} (SHA-256 ${installed.fingerprint})\n` +
        (installed.replaced ? `the old certificate ${installed.replaced} stays valid until revoked: pnpm lotse revoke ${id} --certificate ${installed.replaced}\n` : ''),
    );
    return 0;
  } catch (error) {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.stderr(`${(error as Error).message}\n(see pnpm lotse enroll --help)\n`);
      return 2;
    }
    io.stderr(`ERROR: ${(error as Error).message}\n`);
    return 1;
  }
}
