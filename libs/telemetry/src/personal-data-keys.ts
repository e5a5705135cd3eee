/**
 * Attribute keys that name personal data. A key is caught when its last segment ends with one of
 * these words (`newcomer.family_name`, `case.contact_email`, `guardianPhone`), case and
 * `_`/`-` ignored. Lotse's own spans carry ids only; this is the net under that rule.
 */
export const DENIED_ATTRIBUTE_KEYS: readonly string[] = [
  'given_names',
  'family_name',
  'birth_date',
  'date_of_birth',
  'name',
  'email',
  'phone',
  'phone_number',
  'address',
  // Routing facts that travel with a referral under consent; never for traces or logs.
  'languages',
  'nationality',
];

// OpenTelemetry's own namespaces describe systems, not people: `server.address`,
// `messaging.destination.name` or `db.operation.name` end in a denied word but are what makes a
// trace of gRPC, NATS and SQL calls readable. `user.*` and `enduser.*` are deliberately absent.
const TECHNICAL_NAMESPACES = new Set([
  'client',
  'cloud',
  'code',
  'container',
  'db',
  'deployment',
  'exception',
  'host',
  'http',
  'k8s',
  'messaging',
  'net',
  'network',
  'os',
  'otel',
  'peer',
  'process',
  'rpc',
  'server',
  'service',
  'telemetry',
  'thread',
  'url',
]);

/** Builds the test for one deny-list; normalising the list once keeps the per-attribute check cheap. */
export function personalDataKeyMatcher(denied: readonly string[] = DENIED_ATTRIBUTE_KEYS): (key: string) => boolean {
  const suffixes = denied.map(normalise);
  return (key) => {
    const segments = key.split('.');
    if (segments.length > 1 && TECHNICAL_NAMESPACES.has(segments[0]!.toLowerCase())) return false;
    const last = normalise(segments[segments.length - 1]!);
    return suffixes.some((suffix) => last.endsWith(suffix));
  };
}

export const isPersonalDataKey = personalDataKeyMatcher();

function normalise(word: string): string {
  return word.toLowerCase().replace(/[_-]/g, '');
}
