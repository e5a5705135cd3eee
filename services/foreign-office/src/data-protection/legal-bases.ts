// Legal bases the foreign office's audit entries name for its own processing (policy/flows.yaml,
// flow "fo-register"); flows to other agencies name the consent they were made under.

/** Registering and keeping the newcomer in the coordination register. */
export const REGISTER_BASIS = '§ 86 AufenthG in conjunction with Art. 6(1)(e) GDPR';

/** Recording a consent: the controller must be able to show it was given (Art. 7(1) GDPR). */
export const CONSENT_RECORD_BASIS = 'Art. 6(1)(c) GDPR in conjunction with Art. 7(1) GDPR';

/** Recording a withdrawal, which must be as easy as granting (Art. 7(3) GDPR). */
export const WITHDRAWAL_BASIS = 'Art. 6(1)(c) GDPR in conjunction with Art. 7(3) GDPR';
