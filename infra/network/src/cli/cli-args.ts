import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { UsageError } from './target.js';

export const usage = `Usage: pnpm lotse <command> [options]

A gRPC client for the Lotse network that needs no contracts: it learns the services from the
server's reflection, and always presents an agency's certificate (the servers require mutual TLS).

Commands:
  list <address>                            List the services the server offers
  describe <address> <service>              Show a service's methods and their fields
  call <address> <package.Service/Method> '<json>'
                                            Call a unary method; prints the response as JSON
  reconcile <deployment> [--since <time>]   Have the deployment re-publish from its outbox what
                                            its stream's consumers have not confirmed, or all it
                                            published since <time> (RFC 3339); consumers drop
                                            the copies of what they had applied. Calls as the
                                            console (an operator) unless --as says otherwise
  login <deployment> --as <user> [--password <pw>]
                                            Sign a member of staff in at the network's OpenID
                                            issuer (unless it was started with LOTSE_SIGN_IN=0);
                                            later calls to <deployment> send the access token,
                                            which is bound to <pki>/<deployment>.crt (RFC 8705)

  enroll, rotate, revoke                     Certificates: see pnpm lotse enroll --help

  <address> is host:port, or the id of an agency of the local network, looked up in the
  network file the launcher writes (then --as defaults to that agency).
  Requests and responses use the proto3 JSON mapping: field names as JSON (givenNames) or as
  in the .proto (given_names), enum values by name, timestamps as RFC 3339 strings.
  On an error status the command prints "ERROR <CODE>: <details>" plus one line per field
  violation, and exits with 1.

Options:
  --as <agency-id>   Present <pki>/<agency-id>.crt and .key, and trust <pki>/ca.crt
                     (default: the agency named as <address>)
  --pki <dir>        Certificate folder (default: .lotse/pki)
  --network <file>   Network file (default: .lotse/network.json)
  --deadline <ms>    Deadline of each call, in milliseconds (default: 10000)
  --since <time>     reconcile: re-publish everything published since then
  -h, --help         Show this help

Examples:
  pnpm lotse list lotsenhaus
  pnpm lotse describe kv-mayen-koblenz lotse.foreign_office.v1.ForeignOfficeService
  pnpm lotse call kv-mayen-koblenz lotse.foreign_office.v1.ForeignOfficeService/RegisterNewcomer '{"requestId":"r-1","givenNames":"محمد","familyName":"Al-Hassan","birthDate":"1994-03-02","nationality":"SY","languages":["ar","en"],"municipality":"koblenz","residenceStatus":"RESIDENCE_STATUS_RECOGNISED_REFUGEE"}'
  pnpm lotse call 127.0.0.1:50052 --as caritas-koblenz lotse.lotsenhaus.v1.LotsenhausService/ListProviders '{}'
  pnpm lotse reconcile kv-mayen-koblenz --since 2026-11-20T10:00:00Z
  pnpm lotse login kv-mayen-koblenz --as caseworker.kv-mayen-koblenz
`;

export type Command =
  | { kind: 'help' }
  | { kind: 'list'; address: string }
  | { kind: 'describe'; address: string; service: string }
  | { kind: 'call'; address: string; method: string; request: string };

export interface CliOptions {
  as?: string;
  pki: string;
  network: string;
  deadlineMs: number;
}

/** Parses argv (without node and the script); throws UsageError on anything malformed. */
export function parseCli(argv: readonly string[]): { command: Command; options: CliOptions } {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        as: { type: 'string' },
        pki: { type: 'string', default: '.lotse/pki' },
        network: { type: 'string', default: '.lotse/network.json' },
        deadline: { type: 'string', default: '10000' },
        since: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const { values, positionals } = parsed;
  const deadlineMs = Number(values.deadline);
  if (!Number.isInteger(deadlineMs) || deadlineMs <= 0) throw new UsageError(`--deadline must be a positive number of milliseconds, not "${values.deadline}"`);
  const options: CliOptions = { pki: values.pki, network: values.network, deadlineMs };
  if (values.as !== undefined) options.as = values.as;
  if (values.help || positionals.length === 0) return { command: { kind: 'help' }, options };

  const [name, ...rest] = positionals;
  const expect = (count: number, shape: string): string[] => {
    if (rest.length !== count) throw new UsageError(`${name} takes ${shape}; got ${rest.length} argument(s)`);
    return rest;
  };
  switch (name) {
    case 'list': {
      const [address] = expect(1, '<address>');
      return { command: { kind: 'list', address: address! }, options };
    }
    case 'describe': {
      const [address, service] = expect(2, '<address> <service>');
      return { command: { kind: 'describe', address: address!, service: service! }, options };
    }
    case 'call': {
      // Without a request body the call sends an empty message, as grpcurl does.
      if (rest.length === 2) rest.push('{}');
      const [address, method, request] = expect(3, "<address> <package.Service/Method> '<json>'");
      return { command: { kind: 'call', address: address!, method: method!, request: request! }, options };
    }
    case 'reconcile': {
      const [address] = expect(1, '<deployment>');
      let since: string | undefined;
      if (values.since !== undefined) {
        const at = new Date(values.since);
        if (Number.isNaN(at.getTime())) throw new UsageError(`--since must be a time such as 2026-11-20T10:00:00Z, not "${values.since}"`);
        since = at.toISOString();
      }
      // The operator API answers only certificates of agency type "operator": the console's.
      options.as ??= 'console';
      const request = JSON.stringify({ requestId: randomUUID(), operatorName: 'pnpm lotse reconcile', ...(since && { since }) });
      return { command: { kind: 'call', address: address!, method: 'lotse.operator.v1.OperatorService/Reconcile', request }, options };
    }
    default:
      throw new UsageError(`unknown command "${name}"; commands: list, describe, call, reconcile, login`);
  }
}
