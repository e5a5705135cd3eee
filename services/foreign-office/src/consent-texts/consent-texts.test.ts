import { describe, expect, it } from 'vitest';
import { consentText, currentTextVersion, languagesOf, supportedLanguage, supportedLanguages, textVersions } from './index.js';

describe('consent texts', () => {
  it('exist for the current version in every supported language', () => {
    expect(textVersions()).toContain(currentTextVersion);
    expect(languagesOf(currentTextVersion)).toEqual([...supportedLanguages]);
  });

  it('are written right to left in Arabic, Farsi and Dari only', () => {
    const rtl = supportedLanguages.filter((l) => consentText(currentTextVersion, l)!.direction === 'rtl');
    expect(rtl).toEqual(['ar', 'fa', 'prs']);
  });

  it('say in every language what is shared, with whom, for what, and how to withdraw', () => {
    for (const language of supportedLanguages) {
      const text = consentText(currentTextVersion, language)!;
      expect(text.title.length, language).toBeGreaterThan(10);
      // Seven short paragraphs: what, with whom, what for, voluntary, withdrawal, rights, intro.
      expect(text.text.split(/\n\s*\n/).length, language).toBe(7);
      expect(text.text, language).toMatch(/Lotsenhaus/);
      expect(text.text, language).toMatch(/15|۱۵/); // Art. 15 GDPR
    }
    expect(consentText(currentTextVersion, 'ar')!.text).toMatch(/[\u0600-\u06FF]/);
    expect(consentText(currentTextVersion, 'uk')!.text).toMatch(/[\u0400-\u04FF]/);
  });

  it('accept fa-AF for Dari and nothing unsupported', () => {
    expect(supportedLanguage('fa-AF')).toBe('prs');
    expect(supportedLanguage('PRS')).toBe('prs');
    expect(supportedLanguage('fr')).toBeUndefined();
    expect(supportedLanguage('')).toBeUndefined();
  });
});
