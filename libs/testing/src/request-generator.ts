// Random and extreme encoded requests for the RPC fuzzer (rpc-fuzz.ts), built from the .proto
// descriptors proto-loader gives: well-formed messages with extreme values in every field, valid
// examples with fields appended, and now and then random, truncated or corrupted bytes.
import type { PackageDefinition } from '@grpc/proto-loader';
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import fc from 'fast-check';
import type { DescriptorField } from '@lotse/grpc';


const HUGE_LIST_BYTES = 256 * 1024;
// Below the server's 4 MiB receive limit: a bigger request only tests grpc-js, not the service.
const MAX_REQUEST_BYTES = 3 * 1024 * 1024;
const int32Extremes = [0, 1, -1, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, 2 ** 32 - 1];
const int64Extremes = [0n, -1n, 2n ** 53n, 2n ** 63n - 1n, -(2n ** 63n)];
const extremeSeconds = [0n, -1n, 94_600_000_000_000n, -62_135_596_800n, 253_402_300_799n, 2n ** 63n - 1n, -(2n ** 63n), 7_289_654_399n, 7_289_654_400n];
const extremeNanos = [0, 999_999_999, 1_000_000_000, 2_000_000_000, -1, 2 ** 31 - 1, -(2 ** 31)];
const badUtf8: number[][] = [[0xc3, 0x28], [0xff], [0xed, 0xa0, 0x80], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xe2, 0x82], [0xc0, 0xaf]];

/** Arbitraries of encoded requests, from the descriptors proto-loader gives (names relative to the scope). */
export class RequestGenerator {
  private readonly cache = new Map<string, fc.Arbitrary<Uint8Array>>();
  constructor(
    private readonly definition: PackageDefinition,
    private readonly samples: string[],
  ) {}

  /** Well-formed messages most of the time; sometimes random bytes, a truncated or a corrupted one. */
  request(typeName: string, examples: Uint8Array[]): fc.Arbitrary<Uint8Array> {
    const cap = (m: Uint8Array) => (m.length > MAX_REQUEST_BYTES ? m.subarray(0, MAX_REQUEST_BYTES) : m);
    const message = this.message(typeName, 0).map(cap);
    const mutated = examples.length ? [{ weight: 6, arbitrary: this.mutated(typeName, examples).map(cap) }] : [];
    return fc.oneof(
      ...mutated,
      { weight: 6, arbitrary: message },
      { weight: 1, arbitrary: fc.uint8Array({ maxLength: 256 }) },
      { weight: 1, arbitrary: fc.tuple(message, fc.nat()).map(([m, cut]) => m.subarray(0, m.length ? cut % m.length : 0)) },
      {
        weight: 1,
        arbitrary: fc.tuple(message, fc.nat(), fc.integer({ min: 0, max: 255 })).map(([m, at, byte]) => {
          const copy = Uint8Array.from(m);
          if (copy.length) copy[at % copy.length] = byte;
          return copy;
        }),
      },
    );
  }

  /** A valid example with up to two fields appended (overriding or extending), often with a fresh request id. */
  private mutated(typeName: string, examples: Uint8Array[]): fc.Arbitrary<Uint8Array> {
    const fields = this.fieldsOf(typeName);
    const chunks = fields.map((f) => this.value(typeName, f, 0)).filter((a): a is fc.Arbitrary<Uint8Array> => a !== undefined);
    const requestId = fields.find((f) => f.name === 'request_id' && f.type === 'TYPE_STRING');
    const freshId = requestId
      ? fc.option(
          fc.stringMatching(/^[a-z0-9]{12}$/).map((id) => new BinaryWriter().tag(requestId.number, WireType.LengthDelimited).string(`fz-${id}`).finish()),
          { freq: 2, nil: new Uint8Array() },
        )
      : fc.constant(new Uint8Array());
    const extra = chunks.length ? fc.array(fc.oneof(...chunks), { maxLength: 2 }) : fc.constant([]);
    return fc.tuple(fc.constantFrom(...examples), extra, freshId).map(([example, added, id]) => concat([example, ...added, id]));
  }

  private fieldsOf(typeName: string): DescriptorField[] {
    return (this.definition[typeName] as { type?: { field?: DescriptorField[] } } | undefined)?.type?.field ?? [];
  }

  private message(typeName: string, depth: number): fc.Arbitrary<Uint8Array> {
    const key = `${typeName}@${depth}`;
    const known = this.cache.get(key);
    if (known) return known;
    const fields = this.fieldsOf(typeName).map((f) => this.field(typeName, f, depth));
    const arbitrary = fields.length === 0 ? fc.constant(new Uint8Array()) : fc.tuple(...fields).map((chunks) => concat(chunks.filter((c): c is Uint8Array => c !== null)));
    this.cache.set(key, arbitrary);
    return arbitrary;
  }

  /** One field's encoding, or null (left out); repeated fields get short or, now and then, huge lists. */
  private field(scope: string, f: DescriptorField, depth: number): fc.Arbitrary<Uint8Array | null> {
    const one = this.value(scope, f, depth);
    if (!one) return fc.constant(null);
    if (f.label !== 'LABEL_REPEATED') return fc.option(one, { freq: 3, nil: null });
    return fc.oneof(
      { weight: 4, arbitrary: fc.array(one, { maxLength: 5 }).map(concat) },
      // A huge list of one entry repeated, within a byte budget so nested lists cannot multiply.
      { weight: 1, arbitrary: fc.tuple(one, fc.integer({ min: 1000, max: 10_000 })).map(([chunk, n]) => concat(Array.from({ length: Math.min(n, Math.floor(HUGE_LIST_BYTES / Math.max(1, chunk.length))) }, () => chunk))) },
      { weight: 2, arbitrary: fc.constant(new Uint8Array()) },
    );
  }

  private value(scope: string, f: DescriptorField, depth: number): fc.Arbitrary<Uint8Array> | undefined {
    const tagged = (wireType: WireType, write: (w: BinaryWriter) => void) => {
      const w = new BinaryWriter().tag(f.number, wireType);
      write(w);
      return w.finish();
    };
    switch (f.type) {
      case 'TYPE_STRING':
        return this.stringBytes().map((b) => tagged(WireType.LengthDelimited, (w) => w.bytes(b)));
      case 'TYPE_BYTES':
        return fc.uint8Array({ maxLength: 64 }).map((b) => tagged(WireType.LengthDelimited, (w) => w.bytes(b)));
      case 'TYPE_BOOL':
      case 'TYPE_INT32':
      case 'TYPE_UINT32':
      case 'TYPE_SINT32':
        return fc.oneof(fc.constantFrom(...int32Extremes), fc.integer()).map((n) =>
          tagged(WireType.Varint, (w) => (f.type === 'TYPE_SINT32' ? w.sint32(n | 0) : f.type === 'TYPE_UINT32' ? w.uint32(n >>> 0) : w.int32(n | 0))),
        );
      case 'TYPE_INT64':
      case 'TYPE_UINT64':
      case 'TYPE_SINT64':
        return fc.oneof(fc.constantFrom(...int64Extremes), fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n })).map((n) =>
          tagged(WireType.Varint, (w) => (f.type === 'TYPE_SINT64' ? w.sint64(n) : f.type === 'TYPE_UINT64' ? w.uint64(BigInt.asUintN(64, n)) : w.int64(n))),
        );
      case 'TYPE_DOUBLE':
        return fc.double().map((n) => tagged(WireType.Bit64, (w) => w.double(n)));
      case 'TYPE_FLOAT':
        return fc.float().map((n) => tagged(WireType.Bit32, (w) => w.float(n)));
      case 'TYPE_ENUM': {
        const known = this.enumNumbers(this.resolve(scope, f.typeName));
        const numbers = known.length ? fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...known) }, { weight: 1, arbitrary: fc.integer() }) : fc.integer();
        return numbers.map((n) => tagged(WireType.Varint, (w) => w.int32(n)));
      }
      case 'TYPE_MESSAGE': {
        const target = this.resolve(scope, f.typeName);
        if (!target) return undefined;
        if (target === 'google.protobuf.Timestamp') {
          const seconds = fc.oneof(
            { weight: 2, arbitrary: fc.bigInt({ min: BigInt(Date.UTC(2020, 0, 1) / 1000), max: BigInt(Date.UTC(2030, 0, 1) / 1000) }) },
            { weight: 1, arbitrary: fc.constantFrom(...extremeSeconds) },
          );
          const nanos = fc.oneof({ weight: 2, arbitrary: fc.integer({ min: 0, max: 999_999_999 }) }, { weight: 1, arbitrary: fc.constantFrom(...extremeNanos) });
          return fc
            .tuple(seconds, nanos)
            .map(([s, n]) => tagged(WireType.LengthDelimited, (w) => w.bytes(new BinaryWriter().tag(1, WireType.Varint).int64(s).tag(2, WireType.Varint).int32(n).finish())));
        }
        if (depth >= 3) return fc.constant(tagged(WireType.LengthDelimited, (w) => w.bytes(new Uint8Array())));
        return this.message(target, depth + 1).map((m) => tagged(WireType.LengthDelimited, (w) => w.bytes(m)));
      }
      default:
        return undefined;
    }
  }

  /** Valid text of every kind, plausible values, control characters, huge strings, invalid UTF-8. */
  private stringBytes(): fc.Arbitrary<Uint8Array> {
    const utf8 = (s: string) => new TextEncoder().encode(s);
    const arbitraries: { weight: number; arbitrary: fc.Arbitrary<Uint8Array> }[] = [
      { weight: 3, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }).map(utf8) },
      { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }).map(utf8) },
      { weight: 1, arbitrary: fc.constantFrom('', ' ', '\u0000', '\ufffd', '\u202e', 'a\u0007b', '1990-05-17', '2026-02-30', '9999-12-31', '../../etc/passwd', "'; drop table x; --").map(utf8) },
      { weight: 1, arbitrary: fc.integer({ min: 1000, max: 100_000 }).map((n) => utf8('x'.repeat(n))) },
      {
        weight: 2,
        arbitrary: fc
          .tuple(fc.string({ maxLength: 10 }), fc.constantFrom(...badUtf8), fc.string({ maxLength: 10 }))
          .map(([a, bad, b]) => concat([utf8(a), Uint8Array.from(bad), utf8(b)])),
      },
    ];
    if (this.samples.length) arbitraries.push({ weight: 4, arbitrary: fc.constantFrom(...this.samples).map(utf8) });
    return fc.oneof(...arbitraries);
  }

  private enumNumbers(typeName: string | undefined): number[] {
    const type = typeName ? (this.definition[typeName] as { type?: { value?: { number: number }[] } } | undefined)?.type : undefined;
    return (type?.value ?? []).map((v) => v.number);
  }

  private resolve(scope: string, name: string): string | undefined {
    if (name.startsWith('.')) return name.slice(1);
    const parts = scope.split('.');
    for (let i = parts.length; i >= 0; i--) {
      const candidate = [...parts.slice(0, i), name].join('.');
      if (candidate in this.definition) return candidate;
    }
    return undefined;
  }
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}
