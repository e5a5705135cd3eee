import { Metadata, type ServiceError } from '@grpc/grpc-js';
import { storedToken } from './login-command.js';
import { parseCli, usage, type CliOptions, type Command } from './cli-args.js';
import { ReflectionClient, type FieldDescription, type ServiceDescription } from './reflection-client.js';
import { errorReport, formatErrorReport } from './status-details.js';
import { readClientIdentity, resolveTarget, UsageError } from './target.js';

export interface CliIo {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

/** Runs one command; returns the exit code (0 ok, 1 the call or connection failed, 2 usage). */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  let client: ReflectionClient | undefined;
  try {
    const { command, options } = parseCli(argv);
    if (command.kind === 'help') {
      io.stdout(usage);
      return 0;
    }
    client = await connect(command, options);
    io.stdout(await execute(client, command, await tokenMetadata(command, options)));
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr(`${error.message}\n(see --help)\n`);
      return 2;
    }
    if (isServiceError(error)) {
      io.stderr(`${formatErrorReport(errorReport(error))}\n`);
      return 1;
    }
    io.stderr(`ERROR: ${(error as Error).message ?? String(error)}\n`);
    return 1;
  } finally {
    client?.close();
  }
}

async function connect(command: Exclude<Command, { kind: 'help' }>, options: CliOptions): Promise<ReflectionClient> {
  const target = await resolveTarget(command.address, options.network);
  const agencyId = options.as ?? target.agencyId;
  if (!agencyId) throw new UsageError(`the servers require a client certificate: name the agency to call as with --as <agency-id>`);
  const tls = await readClientIdentity(options.pki, agencyId);
  return new ReflectionClient({ address: target.address, tls, deadlineMs: options.deadlineMs, serverAgencyId: target.agencyId });
}

/** The token `pnpm lotse login` stored for the agency whose certificate the call presents. */
async function tokenMetadata(command: Exclude<Command, { kind: 'help' }>, options: CliOptions): Promise<Metadata> {
  const metadata = new Metadata();
  const target = await resolveTarget(command.address, options.network);
  const agencyId = options.as ?? target.agencyId;
  const token = agencyId ? await storedToken(options.network, agencyId) : undefined;
  if (token) metadata.set('authorization', `Bearer ${token}`);
  return metadata;
}

async function execute(client: ReflectionClient, command: Exclude<Command, { kind: 'help' }>, metadata: Metadata): Promise<string> {
  switch (command.kind) {
    case 'list':
      return (await client.listServices()).map((s) => `${s}\n`).join('');
    case 'describe':
      return formatService(await client.describe(command.service));
    case 'call':
      return `${JSON.stringify(await client.call(command.method, command.request, metadata), null, 2)}\n`;
  }
}

/** Methods with their request fields, then the response type, in a grpcurl-like layout. */
export function formatService(service: ServiceDescription): string {
  const lines = [`service ${service.name}`];
  for (const method of service.methods) {
    const streaming = method.kind === 'unary' ? '' : `  (${method.kind.replace('_', ' ')}: not callable with this tool)`;
    lines.push('', `  rpc ${method.name}(${method.requestType}) returns (${method.responseType})${streaming}`);
    if (method.requestFields.length === 0) lines.push('    (no request fields)');
    for (const field of method.requestFields) lines.push(`    ${formatField(field)}`);
  }
  return `${lines.join('\n')}\n`;
}

function formatField(field: FieldDescription): string {
  const name = field.jsonName === field.name ? field.name : `${field.jsonName} (${field.name})`;
  const type = `${field.repeated ? 'repeated ' : ''}${field.type}`;
  const oneof = field.oneof ? `  [oneof ${field.oneof}]` : '';
  const values = field.enumValues ? `  one of: ${field.enumValues.join(', ')}` : '';
  return `${name}: ${type} = ${field.number}${oneof}${values}`;
}

function isServiceError(error: unknown): error is ServiceError {
  return typeof error === 'object' && error !== null && typeof (error as { code?: unknown }).code === 'number' && 'details' in error && 'metadata' in error;
}
