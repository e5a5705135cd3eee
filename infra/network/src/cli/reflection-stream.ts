import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Metadata, status, type Client, type ClientDuplexStream, type ServiceError } from '@grpc/grpc-js';
import { loadSync, type MethodDefinition, type ServiceDefinition } from '@grpc/proto-loader';

/** One ServerReflectionRequest; exactly one of the query fields is set. */
export interface ReflectionRequest {
  host?: string;
  fileByFilename?: string;
  fileContainingSymbol?: string;
  listServices?: string;
}

/** The parts of a ServerReflectionResponse this client reads (proto-loader object form). */
export interface ReflectionResponse {
  fileDescriptorResponse?: { fileDescriptorProto: Buffer[] } | null;
  listServicesResponse?: { service: { name: string }[] } | null;
  errorResponse?: { errorCode: number; errorMessage: string } | null;
}

/** The server answered a reflection query with an error (e.g. NOT_FOUND for an unknown symbol). */
export class ReflectionQueryError extends Error {
  constructor(
    readonly code: status,
    message: string,
  ) {
    super(message);
    this.name = 'ReflectionQueryError';
  }
}

export type ReflectionVersion = 'v1' | 'v1alpha';

type ReflectionMethod = MethodDefinition<ReflectionRequest, ReflectionResponse>;

// The reflection protocol is itself protobuf; its .proto files ship with @grpc/reflection, so
// this client needs no generated code at all.
const methods = loadReflectionMethods();

function loadReflectionMethods(): Record<ReflectionVersion, ReflectionMethod> {
  const protoDir = join(dirname(createRequire(import.meta.url).resolve('@grpc/reflection/package.json')), 'build/proto');
  const definition = loadSync(['grpc/reflection/v1/reflection.proto', 'grpc/reflection/v1alpha/reflection.proto'], {
    includeDirs: [protoDir],
    longs: String,
    enums: String,
    oneofs: true,
  });
  const method = (version: ReflectionVersion) =>
    (definition[`grpc.reflection.${version}.ServerReflection`] as ServiceDefinition)['ServerReflectionInfo'] as unknown as ReflectionMethod;
  return { v1: method('v1'), v1alpha: method('v1alpha') };
}

/**
 * One ServerReflectionInfo stream. The server answers the requests of a stream in order, so each
 * reply settles the oldest open request.
 */
class Exchange {
  private readonly stream: ClientDuplexStream<ReflectionRequest, ReflectionResponse>;
  private readonly waiting: { resolve: (r: ReflectionResponse) => void; reject: (e: Error) => void }[] = [];
  private failure: Error | undefined;

  constructor(client: Client, method: ReflectionMethod, deadline: Date) {
    this.stream = client.makeBidiStreamRequest(method.path, method.requestSerialize, method.responseDeserialize, new Metadata(), { deadline });
    this.stream.on('data', (response: ReflectionResponse) => this.waiting.shift()?.resolve(response));
    this.stream.on('error', (error: ServiceError) => this.fail(error));
    // A stream that ends while requests are open (without an error status) must not leave them hanging.
    this.stream.on('end', () => this.fail(new Error('the reflection stream ended before every request was answered')));
  }

  send(request: ReflectionRequest): Promise<ReflectionResponse> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting.push({ resolve, reject });
      this.stream.write(request);
    });
  }

  close(): void {
    this.stream.end();
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const open of this.waiting.splice(0)) open.reject(this.failure);
  }
}

/**
 * A conversation with a server's reflection service. Speaks v1 and falls back to v1alpha for
 * servers that only offer the older one (grpcurl does the same).
 */
export class ReflectionStream {
  private version: ReflectionVersion = 'v1';
  private exchange: Exchange;
  private answered = false;

  constructor(
    private readonly client: Client,
    private readonly deadline: Date,
  ) {
    this.exchange = new Exchange(client, methods.v1, deadline);
  }

  get protocol(): ReflectionVersion {
    return this.version;
  }

  async listServices(): Promise<string[]> {
    const response = await this.query({ listServices: '*' });
    return (response.listServicesResponse?.service ?? []).map((s) => s.name);
  }

  /** The file defining a symbol (service, method, message …), usually with its imports. */
  async fileContainingSymbol(symbol: string): Promise<Buffer[]> {
    return this.files(await this.query({ fileContainingSymbol: symbol }));
  }

  async fileByFilename(name: string): Promise<Buffer[]> {
    return this.files(await this.query({ fileByFilename: name }));
  }

  close(): void {
    this.exchange.close();
  }

  private files(response: ReflectionResponse): Buffer[] {
    return response.fileDescriptorResponse?.fileDescriptorProto ?? [];
  }

  private async query(request: ReflectionRequest): Promise<ReflectionResponse> {
    let response: ReflectionResponse;
    try {
      response = await this.exchange.send(request);
    } catch (error) {
      // Only the first request may switch versions; later failures are real.
      if (this.answered || this.version !== 'v1' || (error as ServiceError).code !== status.UNIMPLEMENTED) throw error;
      this.exchange.close();
      this.version = 'v1alpha';
      this.exchange = new Exchange(this.client, methods.v1alpha, this.deadline);
      response = await this.exchange.send(request);
    }
    this.answered = true;
    if (response.errorResponse) {
      const { errorCode, errorMessage } = response.errorResponse;
      throw new ReflectionQueryError(errorCode, errorMessage || `reflection error ${status[errorCode] ?? errorCode}`);
    }
    return response;
  }
}
