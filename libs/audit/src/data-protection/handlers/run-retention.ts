import { dataProtection } from '@lotse/contracts';
import { FailedPreconditionError, PermissionDeniedError } from '@lotse/grpc';
import { isSelfOr, OPERATOR_AGENCY_TYPE, unary } from '../runtime.js';

/** Runs the agency's retention job now (each rule in a transaction of its own, inside the job). */
export const runRetention = unary(dataProtection.DataProtectionServiceService.runRetention, {
  access: 'network',
  async handle(_req, { rt, ctx }) {
    if (!isSelfOr(ctx, rt.agencyId, [OPERATOR_AGENCY_TYPE])) {
      throw new PermissionDeniedError(`only operators and ${rt.agencyId} itself may call ${ctx.method}`);
    }
    if (!rt.runRetention) throw new FailedPreconditionError(`${rt.agencyId} has no retention job`);
    const ranAt = rt.now();
    const results = await rt.runRetention();
    return { deletions: results.map((r) => ({ rule: r.rule, deleted: r.deleted })), ranAt };
  },
});
