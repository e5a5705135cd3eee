// The newcomers' flyer in the eight consent languages (as the transparency report: Dari uses
// the Persian strings). Plain words; the offers themselves stay as their partners wrote them
// (German), which the flyer says. Placeholders: {municipality}, {date}, {from}, {to}.

export interface FlyerStrings {
  title: string;
  intro: string;
  languages: string;
  ages: string;
  agesFrom: string;
  agesUpTo: string;
  free: string;
  fees: string;
  howToApply: string;
  documents: string;
  whereWhen: string;
  wheelchair: string;
  contact: string;
  qrCaption: string;
  germanNote: string;
  verified: string;
  none: string;
}

const de: FlyerStrings = {
  title: 'Beratung und Hilfe in {municipality}',
  intro: 'Diese Stellen beraten Sie kostenlos oder günstig – zu Aufenthalt, Sprachkurs, Arbeit, Ausbildung und Alltag. Sie können ohne Überweisung anfragen.',
  languages: 'Sprachen',
  ages: 'Alter',
  agesFrom: 'ab {from} Jahren',
  agesUpTo: '{from} bis {to} Jahre',
  free: 'kostenlos',
  fees: 'Kosten',
  howToApply: 'So geht es',
  documents: 'Bitte mitbringen',
  whereWhen: 'Wo und wann',
  wheelchair: 'rollstuhlgerecht',
  contact: 'Kontakt',
  qrCaption: 'Alle Angebote, immer aktuell',
  germanNote: 'Die Angebote sind auf Deutsch beschrieben.',
  verified: 'Stand: {date}',
  none: 'Für diesen Ort sind noch keine Angebote eingetragen.',
};

const en: FlyerStrings = {
  title: 'Advice and help in {municipality}',
  intro: 'These services advise you free of charge or at low cost – on residence, language courses, work, training and everyday life. You can contact them without a referral.',
  languages: 'Languages',
  ages: 'Age',
  agesFrom: 'from {from} years',
  agesUpTo: '{from} to {to} years',
  free: 'free of charge',
  fees: 'Cost',
  howToApply: 'How it works',
  documents: 'Please bring',
  whereWhen: 'Where and when',
  wheelchair: 'wheelchair accessible',
  contact: 'Contact',
  qrCaption: 'All services, always up to date',
  germanNote: 'The services are described in German.',
  verified: 'As of {date}',
  none: 'No services are listed for this place yet.',
};

const ar: FlyerStrings = {
  title: 'الاستشارة والمساعدة في {municipality}',
  intro: 'تقدّم لكم هذه الجهات الاستشارة مجانًا أو بتكلفة قليلة – حول الإقامة ودورات اللغة والعمل والتدريب المهني والحياة اليومية. يمكنكم التواصل معها دون إحالة.',
  languages: 'اللغات',
  ages: 'العمر',
  agesFrom: 'من {from} سنة',
  agesUpTo: 'من {from} إلى {to} سنة',
  free: 'مجانًا',
  fees: 'التكلفة',
  howToApply: 'كيف تتم العملية',
  documents: 'يرجى إحضار',
  whereWhen: 'المكان والمواعيد',
  wheelchair: 'مناسب للكراسي المتحركة',
  contact: 'التواصل',
  qrCaption: 'جميع العروض، محدّثة دائمًا',
  germanNote: 'العروض موصوفة باللغة الألمانية.',
  verified: 'بتاريخ {date}',
  none: 'لا توجد عروض مسجّلة لهذا المكان بعد.',
};

const uk: FlyerStrings = {
  title: 'Консультації та допомога в {municipality}',
  intro: 'Ці служби консультують вас безкоштовно або за невелику плату – щодо перебування, мовних курсів, роботи, навчання та повсякденного життя. Звертатися можна без направлення.',
  languages: 'Мови',
  ages: 'Вік',
  agesFrom: 'від {from} років',
  agesUpTo: 'від {from} до {to} років',
  free: 'безкоштовно',
  fees: 'Вартість',
  howToApply: 'Як це працює',
  documents: 'Візьміть із собою',
  whereWhen: 'Де і коли',
  wheelchair: 'доступно для візків',
  contact: 'Контакт',
  qrCaption: 'Усі пропозиції, завжди актуально',
  germanNote: 'Пропозиції описані німецькою мовою.',
  verified: 'Станом на {date}',
  none: 'Для цього місця ще немає пропозицій.',
};

const fa: FlyerStrings = {
  title: 'مشاوره و کمک در {municipality}',
  intro: 'این مراکز به شما رایگان یا با هزینهٔ کم مشاوره می‌دهند – دربارهٔ اقامت، کلاس زبان، کار، آموزش حرفه‌ای و زندگی روزمره. بدون معرفی‌نامه هم می‌توانید مراجعه کنید.',
  languages: 'زبان‌ها',
  ages: 'سن',
  agesFrom: 'از {from} سال',
  agesUpTo: 'از {from} تا {to} سال',
  free: 'رایگان',
  fees: 'هزینه',
  howToApply: 'روند کار',
  documents: 'لطفاً همراه بیاورید',
  whereWhen: 'کجا و چه زمانی',
  wheelchair: 'مناسب برای ویلچر',
  contact: 'تماس',
  qrCaption: 'همهٔ خدمات، همیشه به‌روز',
  germanNote: 'خدمات به زبان آلمانی توضیح داده شده‌اند.',
  verified: 'تاریخ: {date}',
  none: 'هنوز خدمتی برای این محل ثبت نشده است.',
};

const tr: FlyerStrings = {
  title: '{municipality} için danışmanlık ve destek',
  intro: 'Bu kurumlar size ücretsiz veya düşük ücretle danışmanlık verir – oturum, dil kursu, iş, meslek eğitimi ve günlük yaşam konularında. Sevk olmadan başvurabilirsiniz.',
  languages: 'Diller',
  ages: 'Yaş',
  agesFrom: '{from} yaşından itibaren',
  agesUpTo: '{from}–{to} yaş',
  free: 'ücretsiz',
  fees: 'Ücret',
  howToApply: 'Nasıl işler',
  documents: 'Lütfen yanınızda getirin',
  whereWhen: 'Nerede ve ne zaman',
  wheelchair: 'tekerlekli sandalyeye uygun',
  contact: 'İletişim',
  qrCaption: 'Tüm hizmetler, her zaman güncel',
  germanNote: 'Hizmetler Almanca olarak açıklanmıştır.',
  verified: 'Tarih: {date}',
  none: 'Bu yer için henüz kayıtlı hizmet yok.',
};

const ru: FlyerStrings = {
  title: 'Консультации и помощь в {municipality}',
  intro: 'Эти службы консультируют вас бесплатно или за небольшую плату – по вопросам пребывания, языковых курсов, работы, обучения и повседневной жизни. Обращаться можно без направления.',
  languages: 'Языки',
  ages: 'Возраст',
  agesFrom: 'от {from} лет',
  agesUpTo: 'от {from} до {to} лет',
  free: 'бесплатно',
  fees: 'Стоимость',
  howToApply: 'Как это работает',
  documents: 'Возьмите с собой',
  whereWhen: 'Где и когда',
  wheelchair: 'доступно для колясок',
  contact: 'Контакт',
  qrCaption: 'Все предложения, всегда актуально',
  germanNote: 'Предложения описаны на немецком языке.',
  verified: 'По состоянию на {date}',
  none: 'Для этого места пока нет предложений.',
};

export interface FlyerLanguage {
  code: string;
  locale: string;
  direction: 'ltr' | 'rtl';
  strings: FlyerStrings;
}

export const flyerLanguages: Record<string, FlyerLanguage> = {
  de: { code: 'de', locale: 'de-DE', direction: 'ltr', strings: de },
  en: { code: 'en', locale: 'en-GB', direction: 'ltr', strings: en },
  ar: { code: 'ar', locale: 'ar', direction: 'rtl', strings: ar },
  uk: { code: 'uk', locale: 'uk', direction: 'ltr', strings: uk },
  fa: { code: 'fa', locale: 'fa', direction: 'rtl', strings: fa },
  prs: { code: 'prs', locale: 'fa-AF', direction: 'rtl', strings: fa },
  tr: { code: 'tr', locale: 'tr', direction: 'ltr', strings: tr },
  ru: { code: 'ru', locale: 'ru', direction: 'ltr', strings: ru },
};
