import { common, dataProtection } from '@lotse/contracts';
import { ACCESS_REQUEST_BASIS, actorOfCall, appendAudit, dataSubjectReport, forwardCaseworker } from '@lotse/audit';
import { NotFoundError, setCaseRef, Violations } from '@lotse/grpc';
import { toConsent, toNewcomer } from '../api/mappers.js';
import { REGISTER_CATEGORIES } from '../data-protection/holdings.js';
import { agenciesToAsk, unary } from './peer-reports.js';
import { renderReport } from './render-report.js';
import { reportLanguage, reportLanguages } from './report-strings.js';

const supported = Object.keys(reportLanguages).join(', ');

/**
 * A newcomer's transparency report (Art. 15 GDPR), for the office's own caseworkers. Each agency
 * that may hold something is asked for its data-subject report first, outside any transaction:
 * the database is never held while waiting on the network. Then the office's own part and the
 * audit entry of compiling it commit together.
 */
export const getTransparencyReport = unary(dataProtection.TransparencyReportServiceService.getTransparencyReport, {
  access: 'self',
  validate: (req) => {
    const v = new Violations();
    const newcomerId = v.text('newcomer_id', req.newcomerId, { max: 64 });
    const asked = (req.language ?? '').trim();
    if (asked && !reportLanguage(asked)) v.add('language', `must be one of ${supported} ("fa-AF" is Dari), got "${asked.slice(0, 20)}"`);
    v.throwIfAny();
    return { newcomerId, asked };
  },
  async handle({ newcomerId, asked }, { rt, ctx }) {
    const actor = actorOfCall(ctx);
    const newcomer = await rt.db.selectFrom('newcomer').selectAll().where('newcomer_id', '=', newcomerId).executeTakeFirst();
    if (!newcomer) throw new NotFoundError('newcomer_id', newcomerId);
    setCaseRef(newcomer.case_ref);
    const language = reportLanguage(asked || newcomer.languages.find((l) => reportLanguage(l)) || 'de')!;

    const targets = await agenciesToAsk(rt.db, newcomer, rt);
    const metadata = forwardCaseworker(ctx);
    const remote = await Promise.all(targets.map((t) => rt.reports.ask(t, newcomer.case_ref, metadata)));

    const generatedAt = rt.now();
    const own = await rt.transact(async (trx) => {
      const report = await dataSubjectReport(trx, rt.reports.dataProtection, newcomer.case_ref);
      const consents = await trx.selectFrom('consent').selectAll().where('newcomer_id', '=', newcomerId).orderBy('granted_at').execute();
      // Compiling the report reads the newcomer's data: that access is on record too.
      await appendAudit(trx, {
        ...actor,
        action: 'read',
        subjectRef: newcomer.case_ref,
        categories: REGISTER_CATEGORIES,
        purpose: common.Purpose.PURPOSE_UNSPECIFIED,
        legalBasis: ACCESS_REQUEST_BASIS,
        details: { report: 'transparency_report', language: language.code, agencies_asked: targets.length },
        at: generatedAt,
      });
      return { report, consents };
    });

    const agencies: dataProtection.AgencyReport[] = [{ agencyId: rt.agencyId, reached: true, error: '', report: own.report }, ...remote];
    const html = renderReport({ language, generatedAt, agencyId: rt.agencyId, newcomer: toNewcomer(newcomer), consents: own.consents.map(toConsent), agencies });
    return {
      newcomerId,
      caseRef: newcomer.case_ref,
      language: language.code,
      direction: language.direction,
      html,
      agencies,
      unreachableAgencyIds: remote.filter((a) => !a.reached).map((a) => a.agencyId),
      generatedAt,
    };
  },
});
