// Fictitious newcomers for the scenario generator: names in the scripts the district sees most,
// ages 12–65, municipalities of Mayen-Koblenz and the city of Koblenz. Deterministic per seed.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { foreignOffice } from '@lotse/contracts';
import { repoRoot } from '../paths.js';

const { ResidenceStatus: R } = foreignOffice;

/** A small, fast, seedable PRNG (mulberry32). */
export class Random {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0 || 0x9e3779b9;
  }
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
}

/** One journey's own random stream: independent of timing and of the other journeys. */
export function journeyRandom(seed: number, index: number): Random {
  let h = (seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return new Random((h ^ (h >>> 16)) >>> 0);
}

interface Origin {
  name: string;
  /** Consent text language (one the foreign office supports). */
  language: string;
  languages: string[][];
  nationalities: string[];
  statuses: foreignOffice.ResidenceStatus[];
  given: string[];
  family: string[];
}

const origins: Origin[] = [
  {
    name: 'German',
    language: 'de',
    languages: [['de', 'ru'], ['de', 'kk', 'ru'], ['de']],
    // Russian-German families (Spätaussiedler relatives) coming for family reunification.
    nationalities: ['KZ', 'RU', 'KG'],
    statuses: [R.RESIDENCE_STATUS_FAMILY_REUNIFICATION, R.RESIDENCE_STATUS_WORK_PERMIT],
    given: ['Anna', 'Katharina', 'Johannes', 'Andreas', 'Elisabeth', 'Friedrich', 'Margarete', 'Jakob', 'Viktor', 'Helene', 'Jürgen', 'Lena'],
    family: ['Schmidt', 'Müller', 'Becker', 'Wagner', 'Schäfer', 'Weiß', 'Klein', 'Fröhlich', 'Neumann', 'Hoffmann', 'Groß', 'Braun'],
  },
  {
    name: 'Arabic',
    language: 'ar',
    languages: [['ar'], ['ar', 'en'], ['ar', 'ku'], ['ar', 'fr']],
    nationalities: ['SY', 'IQ', 'LB', 'SD', 'YE'],
    statuses: [R.RESIDENCE_STATUS_RECOGNISED_REFUGEE, R.RESIDENCE_STATUS_SUBSIDIARY_PROTECTION, R.RESIDENCE_STATUS_ASYLUM_SEEKER, R.RESIDENCE_STATUS_TOLERATED],
    given: ['محمد', 'أحمد', 'فاطمة', 'عائشة', 'يوسف', 'مريم', 'خالد', 'ليلى', 'عمر', 'نور', 'سارة', 'حسن'],
    family: ['الحسن', 'الأحمد', 'حداد', 'النجار', 'العلي', 'الخطيب', 'المصري', 'الحلبي', 'سليمان', 'إبراهيم', 'الشامي', 'عثمان'],
  },
  {
    name: 'Ukrainian',
    language: 'uk',
    languages: [['uk'], ['uk', 'ru'], ['uk', 'en'], ['uk', 'de']],
    nationalities: ['UA'],
    statuses: [R.RESIDENCE_STATUS_TEMPORARY_PROTECTION],
    given: ['Олена', 'Оксана', 'Тетяна', 'Андрій', 'Олександр', 'Марія', 'Дмитро', 'Ірина', 'Наталія', 'Богдан', 'Юлія', 'Сергій'],
    family: ['Коваленко', 'Шевченко', 'Бондаренко', 'Ткаченко', 'Кравченко', 'Мельник', 'Бойко', 'Олійник', 'Лисенко', 'Савченко', 'Руденко', 'Петренко'],
  },
  {
    name: 'Farsi',
    language: 'fa',
    languages: [['fa'], ['fa', 'en'], ['fa', 'ps'], ['prs']],
    nationalities: ['AF', 'IR'],
    statuses: [R.RESIDENCE_STATUS_SUBSIDIARY_PROTECTION, R.RESIDENCE_STATUS_ASYLUM_SEEKER, R.RESIDENCE_STATUS_RECOGNISED_REFUGEE, R.RESIDENCE_STATUS_TOLERATED],
    given: ['فرهاد', 'زهرا', 'مریم', 'علی', 'رضا', 'فاطمه', 'حمید', 'نرگس', 'مهدی', 'شیرین', 'داوود', 'پروین'],
    family: ['رحیمی', 'احمدی', 'حسینی', 'محمدی', 'کریمی', 'نوری', 'صادقی', 'جعفری', 'هاشمی', 'قاسمی', 'عزیزی', 'یوسفی'],
  },
  {
    name: 'Turkish',
    language: 'tr',
    languages: [['tr'], ['tr', 'de'], ['tr', 'ku'], ['tr', 'en']],
    nationalities: ['TR'],
    statuses: [R.RESIDENCE_STATUS_ASYLUM_SEEKER, R.RESIDENCE_STATUS_WORK_PERMIT, R.RESIDENCE_STATUS_FAMILY_REUNIFICATION, R.RESIDENCE_STATUS_RECOGNISED_REFUGEE],
    given: ['Zeynep', 'Ayşe', 'Elif', 'Mehmet', 'Mustafa', 'Özlem', 'Gülşen', 'İbrahim', 'Çağrı', 'Şükrü', 'Büşra', 'Ömer'],
    family: ['Yıldız', 'Yılmaz', 'Kaya', 'Demir', 'Şahin', 'Çelik', 'Öztürk', 'Aydın', 'Arslan', 'Doğan', 'Kılıç', 'Güneş'],
  },
];

/** The municipality codes of the hub's directory (Mayen-Koblenz and the city of Koblenz). */
export function directoryMunicipalities(): string[] {
  const file = join(repoRoot, 'services/lotsenhaus/src/directory/koblenz-region.json');
  const directory = JSON.parse(readFileSync(file, 'utf8')) as { municipalities: { code: string }[] };
  return directory.municipalities.map((m) => m.code);
}

export interface Person {
  origin: string;
  givenNames: string;
  familyName: string;
  birthDate: string;
  age: number;
  nationality: string;
  languages: string[];
  municipality: string;
  residenceStatus: foreignOffice.ResidenceStatus;
  consentLanguage: string;
  interpreterUsed: boolean;
}

const iso = (d: Date) => d.toISOString().slice(0, 10);

/** A person aged 12–65 today (a birthday never falls on today, so the age group is unambiguous). */
export function newPerson(rng: Random, municipalities: readonly string[], today: Date): Person {
  const origin = rng.pick(origins);
  const age = rng.int(12, 65);
  const birth = new Date(Date.UTC(today.getUTCFullYear() - age, today.getUTCMonth(), today.getUTCDate()));
  birth.setUTCDate(birth.getUTCDate() - rng.int(2, 360));
  const twoGiven = rng.chance(0.15);
  const given = twoGiven ? `${rng.pick(origin.given)} ${rng.pick(origin.given)}` : rng.pick(origin.given);
  const languages = rng.pick(origin.languages);
  const consentLanguage = languages.includes('de') && rng.chance(0.3) ? 'de' : origin.language;
  return {
    origin: origin.name,
    givenNames: given,
    familyName: rng.pick(origin.family),
    birthDate: iso(birth),
    age,
    nationality: rng.pick(origin.nationalities),
    languages,
    municipality: rng.pick(municipalities),
    residenceStatus: rng.pick(origin.statuses),
    consentLanguage,
    interpreterUsed: consentLanguage !== 'de' && rng.chance(0.6),
  };
}
