import type { PackageDefinition } from '@grpc/proto-loader';
import { BinaryReader, WireType } from '@bufbuild/protobuf/wire';
import type { FieldViolation } from './errors.js';

// Checks a request's wire bytes against its .proto before ts-proto decodes it. The decoder is
// lenient where a server must not be: it turns invalid UTF-8 into U+FFFD (so a name would be
// stored with replacement characters), keeps enum numbers the .proto does not define (a list
// filter then matches nothing), and turns any Timestamp into a Date (year 3,000,000 is an
// Invalid Date that fails later as INTERNAL; nanos of 2e9 silently add two seconds). Only the
// bytes can tell invalid UTF-8 from a client that really sent U+FFFD, and only the raw
// Timestamp still has its nanos — hence here, once for every RPC, naming the field by its path.
// The NUL character is refused here too: valid UTF-8, but no PostgreSQL text column takes it.

type FieldKind =
  | { kind: 'string' }
  | { kind: 'enum'; values: ReadonlySet<number> }
  | { kind: 'message'; message: () => MessageShape }
  | { kind: 'timestamp' }
  | { kind: 'other' };

type FieldShape = FieldKind & { name: string; repeated: boolean };
type MessageShape = Map<number, FieldShape>;

interface DescriptorMessage {
  name?: string;
  field?: DescriptorField[];
  nestedType?: DescriptorMessage[];
}

/** A field of a message as proto-loader's descriptors give it (also read by the RPC fuzzer's generator). */
export interface DescriptorField {
  name: string;
  number: number;
  label: string;
  type: string;
  typeName: string;
}

const TIMESTAMP = 'google.protobuf.Timestamp';
// 1900-01-01T00:00:00Z and 2200-12-31T23:59:59Z: no date in a newcomer's case lies outside.
const MIN_SECONDS = BigInt(Date.UTC(1900, 0, 1) / 1000);
const MAX_SECONDS = BigInt(Date.UTC(2201, 0, 1) / 1000 - 1);
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });

/** The shapes of every message a package definition holds, built on first use, cycles allowed. */
export class RequestShapes {
  private readonly shapes = new Map<string, MessageShape>();

  constructor(private readonly definition: PackageDefinition) {}

  /** The full name of the request message of an RPC path ("/pkg.Service/Method"), if known. */
  requestTypeOf(path: string): string | undefined {
    const [, service, method] = path.split('/');
    const definition = this.definition[service!] as Record<string, { requestType?: { type?: { name?: string } } }> | undefined;
    const name = definition?.[method!]?.requestType?.type?.name;
    if (!name) return undefined;
    return this.resolve(service!.split('.').slice(0, -1).join('.'), name);
  }

  /** Problems of one encoded message; throws when the bytes are not a protobuf message at all. */
  check(typeName: string, bytes: Uint8Array, max = Infinity): { violations: FieldViolation[]; total: number } {
    const found: { violations: FieldViolation[]; total: number } = { violations: [], total: 0 };
    const add = (field: string, description: string) => {
      found.total++;
      if (found.violations.length < max) found.violations.push({ field, description });
    };
    walk(this.shape(typeName), bytes, '', add, 0);
    return found;
  }

  private shape(typeName: string): MessageShape {
    return this.shapeOf(typeName, (this.definition[typeName] as { type?: DescriptorMessage } | undefined)?.type);
  }

  private shapeOf(key: string, type: DescriptorMessage | undefined): MessageShape {
    const known = this.shapes.get(key);
    if (known) return known;
    const shape: MessageShape = new Map();
    this.shapes.set(key, shape);
    for (const f of type?.field ?? []) {
      const repeated = f.label === 'LABEL_REPEATED';
      const base = { name: f.name, repeated };
      if (f.type === 'TYPE_STRING') shape.set(f.number, { ...base, kind: 'string' });
      else if (f.type === 'TYPE_ENUM') shape.set(f.number, { ...base, kind: 'enum', values: this.enumValues(this.resolve(key, f.typeName)) });
      else if (f.type === 'TYPE_MESSAGE') {
        const target = this.resolve(key, f.typeName);
        // A map's entry type is not listed on its own by proto-loader, only nested in its message.
        const nested = target ? undefined : type?.nestedType?.find((n) => n.name === f.typeName);
        if (target === TIMESTAMP) shape.set(f.number, { ...base, kind: 'timestamp' });
        else if (target) shape.set(f.number, { ...base, kind: 'message', message: () => this.shape(target) });
        else if (nested) shape.set(f.number, { ...base, kind: 'message', message: () => this.shapeOf(`${key}.${nested.name}`, nested) });
        else shape.set(f.number, { ...base, kind: 'other' });
      } else shape.set(f.number, { ...base, kind: 'other' });
    }
    return shape;
  }

  private enumValues(typeName: string | undefined): ReadonlySet<number> {
    const type = typeName ? (this.definition[typeName] as { type?: { value?: { number: number }[] } } | undefined)?.type : undefined;
    return new Set((type?.value ?? []).map((v) => v.number));
  }

  /**
   * proto-loader writes type names relative to the referring scope ("common.v1.Purpose" inside
   * lotse.foreign_office.v1): protobuf's rule is to try the innermost scope first, then outwards.
   */
  private resolve(scope: string, name: string): string | undefined {
    if (name.startsWith('.')) return name.slice(1);
    const parts = scope ? scope.split('.') : [];
    for (let i = parts.length; i >= 0; i--) {
      const candidate = [...parts.slice(0, i), name].join('.');
      if (candidate in this.definition) return candidate;
    }
    return undefined;
  }
}

// Deeper than any Lotse message nests; a hostile request must not recurse without end.
const MAX_DEPTH = 32;

function walk(shape: MessageShape, bytes: Uint8Array, prefix: string, add: (field: string, description: string) => void, depth: number): void {
  if (depth > MAX_DEPTH) throw new Error('message nested too deeply');
  const reader = new BinaryReader(bytes);
  const seen = new Map<number, number>();
  while (reader.pos < reader.len) {
    const [fieldNo, wireType] = reader.tag();
    const field = shape.get(fieldNo);
    // Unknown fields and fields sent with another wire type are skipped, as the decoder does.
    if (!field || field.kind === 'other' || !expects(field, wireType)) {
      reader.skip(wireType, fieldNo);
      continue;
    }
    const next = () => {
      const i = seen.get(fieldNo) ?? 0;
      seen.set(fieldNo, i + 1);
      return field.repeated ? `${prefix}${field.name}[${i}]` : `${prefix}${field.name}`;
    };
    switch (field.kind) {
      case 'string': {
        const name = next();
        // Read outside the try: bytes running past the end are an undecodable message, not bad UTF-8.
        const bytes = reader.bytes();
        try {
          strictUtf8.decode(bytes);
        } catch {
          add(name, 'must be valid UTF-8');
          break;
        }
        // Valid UTF-8, but PostgreSQL text cannot hold it: a filter with it failed as INTERNAL.
        // No Lotse string carries it (binary data travels as bytes).
        if (bytes.includes(0)) add(name, 'must not contain the NUL character');
        break;
      }
      case 'enum': {
        const check = (value: number) => {
          const name = next();
          if (!field.values.has(value)) add(name, `unknown value ${value}`);
        };
        if (wireType === WireType.Varint) check(reader.int32());
        else {
          // A packed repeated enum: one length-delimited run of varints.
          const packed = new BinaryReader(reader.bytes());
          while (packed.pos < packed.len) check(packed.int32());
        }
        break;
      }
      case 'timestamp':
        checkTimestamp(reader.bytes(), next(), add);
        break;
      case 'message':
        walk(field.message(), reader.bytes(), `${next()}.`, add, depth + 1);
        break;
    }
  }
}

function expects(field: FieldShape, wireType: WireType): boolean {
  if (field.kind === 'enum') return wireType === WireType.Varint || (field.repeated && wireType === WireType.LengthDelimited);
  return wireType === WireType.LengthDelimited;
}

function checkTimestamp(bytes: Uint8Array, name: string, add: (field: string, description: string) => void): void {
  const reader = new BinaryReader(bytes);
  let seconds = 0n;
  let nanos = 0;
  while (reader.pos < reader.len) {
    const [fieldNo, wireType] = reader.tag();
    if (fieldNo === 1 && wireType === WireType.Varint) seconds = BigInt(reader.int64());
    else if (fieldNo === 2 && wireType === WireType.Varint) nanos = reader.int32();
    else reader.skip(wireType, fieldNo);
  }
  if (seconds < MIN_SECONDS || seconds > MAX_SECONDS) add(name, 'must lie between the years 1900 and 2200');
  if (nanos < 0 || nanos > 999_999_999) add(name, 'must have nanos between 0 and 999999999');
}
