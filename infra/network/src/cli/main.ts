// The generic gRPC client of the Lotse network (`pnpm lotse --help`).
import { isDataProtectionCommand, runDataProtectionCli } from './data-protection-commands.js';
import { isLoginCommand, runLogin } from './login-command.js';
import { isPkiCommand, runPkiCli } from './pki-commands.js';
import { isDirectoryCommand, runDirectoryCli } from './directory-commands.js';
import { runCli } from './run-cli.js';

// grpc-js passes the host of an IP address as TLS ServerName, which Node flags as DEP0123. Named
// agencies are dialled by name (their certificate's DNS name); for a bare host:port the
// certificate is still checked against the IP (ours carry 127.0.0.1), so the warning is noise in
// a command's output; every other warning still shows.
const emitWarning = process.emitWarning.bind(process);
process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
  const code = typeof rest[0] === 'object' ? (rest[0] as { code?: string } | null)?.code : rest[1];
  if (code === 'DEP0123') return;
  (emitWarning as (...args: unknown[]) => void)(warning, ...rest);
}) as typeof process.emitWarning;

const io = { stdout: (text: string) => process.stdout.write(text), stderr: (text: string) => process.stderr.write(text) };
const argv = process.argv.slice(2);
process.exitCode = isLoginCommand(argv)
  ? await runLogin(argv, io)
  : isPkiCommand(argv)
    ? await runPkiCli(argv, io)
    : isDirectoryCommand(argv)
      ? await runDirectoryCli(argv, io)
      : isDataProtectionCommand(argv)
        ? await runDataProtectionCli(argv, io)
        : await runCli(argv, io);
