import type { Metadata } from '@grpc/grpc-js';
import { common, foreignOffice } from '@lotse/contracts';
import { createClient, type TlsIdentity } from '@lotse/grpc';

const { Purpose, DataCategory } = common;
const { ResidenceStatus } = foreignOffice;

/** Fictitious newcomers, names in the scripts the district sees most. */
export const demoNewcomers: Omit<foreignOffice.RegisterNewcomerRequest, 'requestId'>[] = [
  { givenNames: 'محمد', familyName: 'الحسن', birthDate: '1990-03-14', nationality: 'SY', languages: ['ar', 'en'], municipality: 'andernach', residenceStatus: ResidenceStatus.RESIDENCE_STATUS_RECOGNISED_REFUGEE },
  { givenNames: 'Олена', familyName: 'Коваленко', birthDate: '1985-07-02', nationality: 'UA', languages: ['uk', 'ru'], municipality: 'koblenz', residenceStatus: ResidenceStatus.RESIDENCE_STATUS_TEMPORARY_PROTECTION },
  { givenNames: 'Zeynep', familyName: 'Yıldız', birthDate: '2004-11-30', nationality: 'TR', languages: ['tr', 'de'], municipality: 'mayen', residenceStatus: ResidenceStatus.RESIDENCE_STATUS_ASYLUM_SEEKER },
  { givenNames: 'Farhad', familyName: 'Rahimi', birthDate: '1978-01-21', nationality: 'AF', languages: ['fa'], municipality: 'bendorf', residenceStatus: ResidenceStatus.RESIDENCE_STATUS_SUBSIDIARY_PROTECTION },
];

export interface SeededNewcomer {
  newcomerId: string;
  caseRef: string;
  label: string;
}

/**
 * Registers the demo newcomers with their consent at the foreign office. Fixed request ids make
 * this a no-op on every later start: the service answers a repeated id with its first result.
 */
export async function seedDemoData(owner: { id: string; address: string }, identity: TlsIdentity, metadata?: Metadata): Promise<SeededNewcomer[]> {
  const client = createClient(foreignOffice.ForeignOfficeServiceClient, owner.address, identity, { deadlineMs: 15_000, serverAgencyId: owner.id });
  try {
    const seeded: SeededNewcomer[] = [];
    for (const [i, person] of demoNewcomers.entries()) {
      const { newcomer } = await client.registerNewcomer({ requestId: `demo-newcomer-${i + 1}`, ...person }, { metadata });
      await client.recordConsent({
        requestId: `demo-consent-${i + 1}`,
        newcomerId: newcomer!.newcomerId,
        recipients: ['migration-services'],
        purposes: [Purpose.PURPOSE_MIGRATION_COUNSELLING],
        dataCategories: [DataCategory.DATA_CATEGORY_IDENTITY, DataCategory.DATA_CATEGORY_LANGUAGES, DataCategory.DATA_CATEGORY_NATIONALITY, DataCategory.DATA_CATEGORY_RESIDENCE_STATUS],
        expiresAt: undefined,
        textVersion: 'mbe-einwilligung-2026-01',
        language: person.languages[0]!,
        interpreterUsed: i === 0,
      }, { metadata });
      seeded.push({ newcomerId: newcomer!.newcomerId, caseRef: newcomer!.caseRef, label: `${person.municipality}, born ${person.birthDate.slice(0, 4)}` });
    }
    return seeded;
  } finally {
    client.close();
  }
}
