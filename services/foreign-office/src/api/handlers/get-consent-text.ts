import { foreignOffice } from '@lotse/contracts';
import { NotFoundError } from '@lotse/grpc';
import { consentText, languagesOf } from '../../consent-texts/index.js';
import { unary } from '../case-records.js';
import { validateGetConsentText } from '../validate.js';

/** The consent form's text in a language, for anyone of the network (no personal data). */
export const getConsentText = unary(foreignOffice.ForeignOfficeServiceService.getConsentText, {
  access: 'network',
  validate: (req) => validateGetConsentText(req),
  async handle(input) {
    const text = consentText(input.textVersion, input.language);
    if (!text) {
      if (languagesOf(input.textVersion).length === 0) throw new NotFoundError('text_version', input.textVersion, 'consent text');
      throw new NotFoundError('language', input.language, `${input.textVersion} text in the language`);
    }
    return {
      textVersion: text.textVersion,
      language: text.language,
      direction: text.direction === 'rtl' ? foreignOffice.TextDirection.TEXT_DIRECTION_RTL : foreignOffice.TextDirection.TEXT_DIRECTION_LTR,
      title: text.title,
      text: text.text,
      availableLanguages: languagesOf(input.textVersion),
    };
  },
});
