import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

// The consent texts a newcomer is shown, one folder per text version, one file per language:
// the title on the first line, then paragraphs separated by blank lines.

/** The languages every consent text is available in (ISO 639; prs = Dari). */
export const supportedLanguages = ['de', 'en', 'ar', 'uk', 'fa', 'prs', 'tr', 'ru'] as const;
export type Language = (typeof supportedLanguages)[number];

/** Scripts written right to left. */
const rightToLeft = new Set<string>(['ar', 'fa', 'prs']);

/** Other spellings accepted for a supported language. */
const aliases: Record<string, Language> = { 'fa-af': 'prs' };

/** The version shown today; a request without a version gets this one. */
export const currentTextVersion = 'mbe-einwilligung-2026-01';

export interface ConsentText {
  textVersion: string;
  language: Language;
  direction: 'ltr' | 'rtl';
  title: string;
  text: string;
}

/** The supported language a code stands for ("fa-AF" → "prs"), or undefined. */
export function supportedLanguage(code: string): Language | undefined {
  const lower = code.trim().toLowerCase();
  if ((supportedLanguages as readonly string[]).includes(lower)) return lower as Language;
  return aliases[lower];
}

const folder = fileURLToPath(new URL('.', import.meta.url));

function load(): Map<string, Map<Language, ConsentText>> {
  const versions = new Map<string, Map<Language, ConsentText>>();
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const texts = new Map<Language, ConsentText>();
    for (const file of readdirSync(join(folder, entry.name))) {
      const language = supportedLanguage(file.replace(/\.txt$/, ''));
      if (!file.endsWith('.txt') || !language) continue;
      const [title, ...rest] = readFileSync(join(folder, entry.name, file), 'utf8').trim().split('\n');
      texts.set(language, {
        textVersion: entry.name,
        language,
        direction: rightToLeft.has(language) ? 'rtl' : 'ltr',
        title: title!.trim(),
        text: rest.join('\n').trim(),
      });
    }
    versions.set(entry.name, texts);
  }
  return versions;
}

const texts = load();

export function textVersions(): string[] {
  return [...texts.keys()].sort();
}

/** Languages a version exists in, in the order of supportedLanguages; [] for an unknown version. */
export function languagesOf(textVersion: string): Language[] {
  const version = texts.get(textVersion);
  return version ? supportedLanguages.filter((l) => version.has(l)) : [];
}

export function consentText(textVersion: string, language: Language): ConsentText | undefined {
  return texts.get(textVersion)?.get(language);
}
