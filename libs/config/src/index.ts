// Config in two steps: readEnv() takes the raw variables once; a service's toConfig() turns them
// into a typed, validated object with the helpers below. A bad value stops start-up with one
// line naming the variable.

export type Env = Readonly<Record<string, string | undefined>>;

export class ConfigError extends Error {
  constructor(
    readonly variable: string,
    problem: string,
  ) {
    super(`config: ${variable} ${problem}`);
    this.name = 'ConfigError';
  }
}

/** The only place that reads process.env. */
export function readEnv(): Env {
  return { ...process.env };
}

export function requireString(env: Env, name: string): string {
  const value = env[name]?.trim();
  if (!value) throw new ConfigError(name, 'is required but not set');
  return value;
}

export function optionalString(env: Env, name: string, fallback?: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : fallback;
}

export function integer(env: Env, name: string, fallback: number, range: { min?: number; max?: number } = {}): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  if (!/^-?\d+$/.test(raw)) throw new ConfigError(name, `must be a whole number, got "${raw}"`);
  const value = Number(raw);
  if (range.min !== undefined && value < range.min) throw new ConfigError(name, `must be at least ${range.min}, got ${value}`);
  if (range.max !== undefined && value > range.max) throw new ConfigError(name, `must be at most ${range.max}, got ${value}`);
  return value;
}

export function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  if (!(allowed as readonly string[]).includes(raw)) throw new ConfigError(name, `must be one of ${allowed.join(', ')}, got "${raw}"`);
  return raw as T;
}

/** An agency or deployment id: lower-case letters, digits and hyphens, as used in NATS subjects. */
export function agencyId(env: Env, name: string, fallback?: string): string {
  const value = optionalString(env, name, fallback);
  if (!value) throw new ConfigError(name, 'is required but not set');
  if (!/^[a-z][a-z0-9-]{1,62}$/.test(value)) throw new ConfigError(name, `must be lower-case letters, digits and hyphens, got "${value}"`);
  return value;
}

/** "id=host:port,id=host:port" → Map, for the addresses of peer agencies. */
export function addressMap(env: Env, name: string): Map<string, string> {
  const raw = optionalString(env, name);
  const map = new Map<string, string>();
  if (!raw) return map;
  for (const part of raw.split(',')) {
    const [id, address] = part.split('=').map((s) => s.trim());
    if (!id || !address || !/^[^:]+:\d+$/.test(address)) throw new ConfigError(name, `entries must look like id=host:port, got "${part}"`);
    map.set(id, address);
  }
  return map;
}

/** Runs toConfig and turns a ConfigError into one line on stderr and exit code 78 (EX_CONFIG). */
export function loadConfigOrExit<T>(toConfig: (env: Env) => T, env: Env = readEnv()): T {
  try {
    return toConfig(env);
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(78);
    }
    throw error;
  }
}
