import { common, lotsenhaus } from '@lotse/contracts';
import { createClient, throwDownstream, UnavailableError, type PromiseClient, type TlsIdentity } from '@lotse/grpc';

/** A cooperation agreement between agency types, as the hub's directory holds it. */
export interface Agreement {
  senderType: string;
  recipientType: string;
  purposes: common.Purpose[];
}

/** Where a sending agency learns the agreements from, to refuse a referral before writing anything. */
export interface AgreementSource {
  agreements(): Promise<Agreement[]>;
  close?(): void;
}

/**
 * The cooperation agreements rule: a sender may refer to a recipient type for a purpose only when
 * an agreement between their agency types names that purpose. The hub routes by it and a sender
 * refuses a referral on by it before writing anything.
 */
export function agreementAllows(agreements: readonly Agreement[], senderType: string, recipientType: string, purpose: common.Purpose): boolean {
  return agreements.some((a) => a.senderType === senderType && a.recipientType === recipientType && a.purposes.includes(purpose));
}

/** Fixed agreements (tests, or a deployment that pins them). */
export function staticAgreements(agreements: Agreement[]): AgreementSource {
  return { agreements: async () => agreements };
}

/**
 * The hub's agreements over gRPC (LotsenhausService/ListAgreements), cached for ttlMs: the hub
 * owns the directory, so senders never hold a copy that drifts. When the hub cannot be reached
 * a cached answer up to 10× the TTL old is still used; otherwise UNAVAILABLE (nothing written).
 */
export function hubAgreements(options: { hubAddress: string | undefined; hubAgencyId: string; identity: TlsIdentity; ttlMs?: number; now?: () => number }): AgreementSource {
  const ttl = options.ttlMs ?? 30_000;
  const now = options.now ?? Date.now;
  let client: PromiseClient<lotsenhaus.LotsenhausServiceClient> | undefined;
  let cached: { at: number; agreements: Agreement[] } | undefined;
  return {
    async agreements() {
      if (cached && now() - cached.at < ttl) return cached.agreements;
      if (!options.hubAddress) throw new UnavailableError('no address is configured for the hub (HUB_ADDRESS); cannot check the cooperation agreements');
      client ??= createClient(lotsenhaus.LotsenhausServiceClient, options.hubAddress, options.identity, { serverAgencyId: options.hubAgencyId, deadlineMs: 3000 });
      try {
        const { agreements } = await client.listAgreements({});
        cached = { at: now(), agreements: agreements.map((a) => ({ senderType: a.senderType, recipientType: a.recipientType, purposes: a.purposes })) };
        return cached.agreements;
      } catch (error) {
        if (cached && now() - cached.at < ttl * 10) return cached.agreements;
        throwDownstream(error, `the hub ${options.hubAgencyId}`, 'to check the cooperation agreements');
      }
    },
    close() {
      client?.close();
    },
  };
}
