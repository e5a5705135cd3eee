/**
 * Subject and stream names. Every producing agency deployment owns one stream holding
 * `lotse.<agency-id>.>`, so a consumer knows where to find an event from its subject alone.
 */

// NATS subject tokens may not contain these; an agency id or audience with them would silently
// widen or split a subject, so reject them loudly instead.
const forbiddenInToken = /[\s.*>]/;

export class InvalidSubjectTokenError extends Error {
  constructor(what: string, value: string) {
    super(`${what} "${value}" cannot be used in a NATS subject (no empty value, whitespace, ".", "*" or ">")`);
    this.name = 'InvalidSubjectTokenError';
  }
}

function token(what: string, value: string): string {
  if (value === '' || forbiddenInToken.test(value)) throw new InvalidSubjectTokenError(what, value);
  return value;
}

/** `kv-mayen-koblenz` → `LOTSE_KV_MAYEN_KOBLENZ` (stream names allow no dots; upper case reads as a name). */
export function streamName(agencyId: string): string {
  return `LOTSE_${token('agency id', agencyId).toUpperCase().replace(/-/g, '_')}`;
}

/** Subjects of the stream an agency owns. */
export function agencySubjects(agencyId: string): string {
  return `lotse.${token('agency id', agencyId)}.>`;
}

/** Every event a producer addresses to one audience: `lotse.<producer>.*.<audience>`. */
export function subjectsAddressedTo(producerAgencyId: string, audience: string): string {
  return `lotse.${token('producer agency id', producerAgencyId)}.*.${token('audience', audience)}`;
}

/** `ReferralRouted` → `referral-routed`; a name already in kebab case stays as it is. */
export function kebabCase(name: string): string {
  return name
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1-$2')
    .replace(/[_\s]+/g, '-')
    .toLowerCase();
}

/**
 * `eventSubject('lotsenhaus', 'ReferralRouted', 'caritas-koblenz')` →
 * `lotse.lotsenhaus.referral-routed.caritas-koblenz`. The audience token lets a recipient filter
 * on the events meant for it without reading the payload.
 */
export function eventSubject(producerAgencyId: string, eventName: string, audience?: string): string {
  const base = `lotse.${token('producer agency id', producerAgencyId)}.${token('event name', kebabCase(eventName))}`;
  return audience === undefined ? base : `${base}.${token('audience', audience)}`;
}

/** Whether a NATS subject falls under a filter (`*` one token, `>` one or more trailing tokens). */
export function subjectMatches(filter: string, subject: string): boolean {
  const f = filter.split('.');
  const s = subject.split('.');
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '>') return s.length > i;
    if (i >= s.length) return false;
    if (f[i] !== '*' && f[i] !== s[i]) return false;
  }
  return f.length === s.length;
}
