// The generic gRPC client of the Lotse network (`pnpm lotse --help`).
import { runCli } from './run-cli.js';

// grpc-js passes the host of an IP address as TLS ServerName, which Node flags as DEP0123 on every
// run. The certificate is still checked against the IP (our certificates carry 127.0.0.1), so the
// warning is noise in a command's output; every other warning still shows.
const emitWarning = process.emitWarning.bind(process);
process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
  const code = typeof rest[0] === 'object' ? (rest[0] as { code?: string } | null)?.code : rest[1];
  if (code === 'DEP0123') return;
  (emitWarning as (...args: unknown[]) => void)(warning, ...rest);
}) as typeof process.emitWarning;

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
});
