import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * The verified caller of the gRPC call being served, for library code that must key on it
 * without every handler passing it along (the idempotency store). Set by GrpcServer around the
 * handler; Node's AsyncLocalStorage follows it through every await of the call. Not the
 * OpenTelemetry context: that one carries nothing when telemetry is switched off.
 */
const callerStore = new AsyncLocalStorage<string>();

export function runAsCaller<T>(agencyId: string, run: () => T): T {
  return callerStore.run(agencyId, run);
}

/** The deployment id of the certificate that made the current call, or undefined outside one. */
export function currentCaller(): string | undefined {
  return callerStore.getStore();
}
