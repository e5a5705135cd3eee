import { Channel, Client, credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { fromBinary, fromJson, toBinary, toJson, ScalarType, type DescField, type DescMethod, type DescService, type FileRegistry, type JsonValue, type Message } from '@bufbuild/protobuf';
import { DescriptorPool } from './descriptor-pool.js';
import { ReflectionQueryError, ReflectionStream } from './reflection-stream.js';

/** PEM contents for mutual TLS: the network's CA, and the certificate and key this client shows. */
export interface TlsFiles {
  ca: Buffer;
  cert: Buffer;
  key: Buffer;
}

export interface ReflectionClientOptions {
  /** host:port */
  address: string;
  tls: TlsFiles;
  /** Per RPC: each reflection conversation and each call gets this long. */
  deadlineMs?: number;
  /** The agency expected at the address; its certificate is checked for that name. */
  serverAgencyId?: string;
}

export interface FieldDescription {
  name: string;
  jsonName: string;
  number: number;
  /** "string", "lotse.common.v1.AgeGroup", "map<string, int32>" … */
  type: string;
  repeated: boolean;
  oneof?: string;
  /** Names accepted for an enum field. */
  enumValues?: string[];
}

export interface MethodDescription {
  name: string;
  /** "/package.Service/Method", as on the wire. */
  path: string;
  kind: DescMethod['methodKind'];
  requestType: string;
  responseType: string;
  requestFields: FieldDescription[];
  responseFields: FieldDescription[];
}

export interface ServiceDescription {
  name: string;
  methods: MethodDescription[];
}

// Servers should answer a handful of lookups; this only stops a misbehaving one from looping us.
const MAX_LOOKUP_ROUNDS = 20;

/**
 * A gRPC client that knows no contract in advance: it asks the server's reflection service for
 * the descriptors and encodes requests / decodes responses with the proto3 JSON mapping.
 */
export class ReflectionClient {
  private readonly channel: Channel;
  private readonly client: Client;
  private readonly deadlineMs: number;
  private readonly pool = new DescriptorPool();
  private registry: FileRegistry | undefined;

  constructor(options: ReflectionClientOptions) {
    const { ca, cert, key } = options.tls;
    const nameOverride = options.serverAgencyId ? { 'grpc.ssl_target_name_override': options.serverAgencyId, 'grpc.default_authority': options.serverAgencyId } : {};
    this.channel = new Channel(options.address, credentials.createSsl(ca, key, cert), nameOverride);
    // One channel (one TLS connection) for reflection and calls alike.
    this.client = new Client(options.address, credentials.createSsl(ca, key, cert), { channelOverride: this.channel });
    this.deadlineMs = options.deadlineMs ?? 10_000;
  }

  /** Fully-qualified names of the services the server lists. */
  async listServices(): Promise<string[]> {
    return this.withReflection(async (reflection) => (await reflection.listServices()).sort());
  }

  async describe(serviceName: string): Promise<ServiceDescription> {
    const service = await this.service(serviceName);
    return {
      name: service.typeName,
      methods: service.methods.map((method) => ({
        name: method.name,
        path: `/${service.typeName}/${method.name}`,
        kind: method.methodKind,
        requestType: method.input.typeName,
        responseType: method.output.typeName,
        requestFields: method.input.fields.map(describeField),
        responseFields: method.output.fields.map(describeField),
      })),
    };
  }

  /**
   * Makes a unary call. `request` is proto3 JSON (a string or a parsed value): JSON or proto field
   * names, enum names, RFC 3339 timestamps. Resolves to the response as proto3 JSON with every
   * field present (defaults included), enums as names and 64-bit integers as strings. Rejects with
   * the grpc-js ServiceError on a non-OK status.
   */
  async call(methodPath: string, request: string | JsonValue, metadata = new Metadata()): Promise<JsonValue> {
    const { serviceName, methodName } = parseMethodPath(methodPath);
    const service = await this.service(serviceName);
    const method = service.methods.find((m) => m.name === methodName);
    if (!method) {
      throw new Error(`${serviceName} has no method ${methodName} (it has ${service.methods.map((m) => m.name).join(', ')})`);
    }
    if (method.methodKind !== 'unary') throw new Error(`${serviceName}/${methodName} is ${method.methodKind}; only unary calls are supported`);
    const json = typeof request === 'string' ? parseJson(request) : request;
    const message = fromJson(method.input, json, { registry: this.registry });
    const response = await new Promise<Message>((resolve, reject) => {
      this.client.makeUnaryRequest(
        `/${service.typeName}/${method.name}`,
        (value: Message) => Buffer.from(toBinary(method.input, value)),
        (bytes: Buffer) => fromBinary(method.output, bytes),
        message,
        metadata,
        { deadline: this.deadline() },
        (error: ServiceError | null, value?: Message) => (error ? reject(error) : resolve(value!)),
      );
    });
    return toJson(method.output, response, { alwaysEmitImplicit: true, registry: this.registry });
  }

  close(): void {
    // Closes the shared channel too.
    this.client.close();
  }

  private async service(name: string): Promise<DescService> {
    const known = this.registry?.getService(name);
    if (known) return known;
    await this.learn(name);
    const service = this.registry?.getService(name);
    if (!service) throw new Error(`the server's descriptors for ${name} do not define a service of that name`);
    return service;
  }

  /** Fetches the file defining `symbol` and everything it needs, then rebuilds the registry. */
  private async learn(symbol: string): Promise<void> {
    await this.withReflection(async (reflection) => {
      try {
        this.pool.addSerialized(await reflection.fileContainingSymbol(symbol));
      } catch (error) {
        if (error instanceof ReflectionQueryError && error.code === status.NOT_FOUND) {
          throw new Error(`the server does not know ${symbol} (${error.message}); try \`list\``);
        }
        throw error;
      }
      const unavailable = new Set<string>();
      for (let round = 0; round < MAX_LOOKUP_ROUNDS; round++) {
        let added = 0;
        for (const file of this.pool.missingImports().filter((f) => !unavailable.has(f))) {
          added += await this.optional(() => reflection.fileByFilename(file), () => unavailable.add(file));
        }
        for (const type of this.pool.unresolvedTypes().filter((t) => !unavailable.has(t))) {
          added += await this.optional(() => reflection.fileContainingSymbol(type), () => unavailable.add(type));
        }
        if (added === 0) break;
      }
    });
    this.pool.addWellKnownFallbacks();
    this.registry = this.pool.registry();
  }

  /** A lookup the server may not be able to answer: NOT_FOUND is noted, not fatal. */
  private async optional(lookup: () => Promise<Buffer[]>, onNotFound: () => void): Promise<number> {
    try {
      return this.pool.addSerialized(await lookup());
    } catch (error) {
      if (error instanceof ReflectionQueryError && error.code === status.NOT_FOUND) {
        onNotFound();
        return 0;
      }
      throw error;
    }
  }

  private async withReflection<T>(work: (reflection: ReflectionStream) => Promise<T>): Promise<T> {
    const reflection = new ReflectionStream(this.client, this.deadline());
    try {
      return await work(reflection);
    } finally {
      reflection.close();
    }
  }

  private deadline(): Date {
    return new Date(Date.now() + this.deadlineMs);
  }
}

/** Accepts "pkg.Service/Method", "/pkg.Service/Method" and "pkg.Service.Method". */
export function parseMethodPath(path: string): { serviceName: string; methodName: string } {
  const trimmed = path.replace(/^\//, '');
  const separator = trimmed.includes('/') ? trimmed.lastIndexOf('/') : trimmed.lastIndexOf('.');
  const serviceName = trimmed.slice(0, Math.max(separator, 0));
  const methodName = trimmed.slice(separator + 1);
  if (separator <= 0 || !methodName || !serviceName.includes('.')) {
    throw new Error(`"${path}" is not a method; expected package.Service/Method`);
  }
  return { serviceName, methodName };
}

function parseJson(text: string): JsonValue {
  try {
    return JSON.parse(text) as JsonValue;
  } catch (error) {
    throw new Error(`the request is not valid JSON: ${(error as Error).message}`);
  }
}

function describeField(field: DescField): FieldDescription {
  const description: FieldDescription = {
    name: field.name,
    jsonName: field.jsonName,
    number: field.number,
    type: fieldType(field),
    repeated: field.fieldKind === 'list',
  };
  if (field.oneof) description.oneof = field.oneof.name;
  if (field.enum) description.enumValues = field.enum.values.map((v) => v.name);
  return description;
}

function fieldType(field: DescField): string {
  switch (field.fieldKind) {
    case 'scalar':
      return scalarName(field.scalar);
    case 'enum':
      return field.enum.typeName;
    case 'message':
      return field.message.typeName;
    case 'list':
      return field.listKind === 'scalar' ? scalarName(field.scalar) : field.listKind === 'enum' ? field.enum.typeName : field.message.typeName;
    case 'map': {
      const value = field.mapKind === 'scalar' ? scalarName(field.scalar) : field.mapKind === 'enum' ? field.enum.typeName : field.message.typeName;
      return `map<${scalarName(field.mapKey)}, ${value}>`;
    }
  }
}

function scalarName(scalar: ScalarType): string {
  return ScalarType[scalar].toLowerCase();
}
