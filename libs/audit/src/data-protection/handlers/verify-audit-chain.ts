import { dataProtection } from '@lotse/contracts';
import { PermissionDeniedError, Violations } from '@lotse/grpc';
import { verifyAuditChain as verifyChain } from '../../audit-log.js';
import { AUDITOR_AGENCY_TYPE, isSelfOr, OPERATOR_AGENCY_TYPE, unary } from '../runtime.js';

/**
 * Whether this agency's audit chain is whole, from the start or from a head the caller already
 * verified. Read in one repeatable-read snapshot (appends that commit meanwhile are not half
 * seen), so the handler opens its transaction itself rather than declare one.
 */
export const verifyAuditChain = unary(dataProtection.DataProtectionServiceService.verifyAuditChain, {
  access: 'network',
  async handle(req, { rt, ctx }) {
    // Before the request is looked at, as the edge's matrix row already checked.
    if (!isSelfOr(ctx, rt.agencyId, [OPERATOR_AGENCY_TYPE, AUDITOR_AGENCY_TYPE])) {
      throw new PermissionDeniedError(`only operators, auditors and ${rt.agencyId} itself may call ${ctx.method}; ${ctx.caller.agencyId} is of agency type "${ctx.caller.agencyType}"`);
    }
    const v = new Violations();
    const knownHash = v.pattern('known_head_hash', req.knownHeadHash, /^[0-9a-f]{64}$/, 'a sha256 hash in lower-case hex', { required: false });
    if (req.knownHeadSeq > 0 && !knownHash) v.add('known_head_hash', 'must be set with known_head_seq');
    if (knownHash && !(req.knownHeadSeq > 0)) v.add('known_head_seq', 'must be set with known_head_hash');
    v.throwIfAny();
    const result = await rt.db
      .transaction()
      .setIsolationLevel('repeatable read')
      .execute((trx) => verifyChain(trx, knownHash ? { knownHead: { seq: req.knownHeadSeq, hash: knownHash } } : {}));
    return dataProtection.VerifyAuditChainResponse.fromPartial({
      agencyId: rt.agencyId,
      ok: result.ok,
      rows: result.rows,
      firstBroken: result.firstBroken,
      headSeq: result.head?.seq ?? 0,
      headHash: result.head?.hash ?? '',
      verifiedAt: rt.now(),
    });
  },
});
