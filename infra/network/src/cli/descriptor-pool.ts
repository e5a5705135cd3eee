import { clone, create, createFileRegistry, fromBinary, type FileRegistry } from '@bufbuild/protobuf';
import { protoCamelCase } from '@bufbuild/protobuf/reflect';
import {
  file_google_protobuf_any,
  file_google_protobuf_duration,
  file_google_protobuf_empty,
  file_google_protobuf_field_mask,
  file_google_protobuf_struct,
  file_google_protobuf_timestamp,
  file_google_protobuf_wrappers,
  FileDescriptorProtoSchema,
  FileDescriptorSetSchema,
  type DescriptorProto,
  type FieldDescriptorProto,
  type FileDescriptorProto,
} from '@bufbuild/protobuf/wkt';

// Servers that do not hand out the well-known types (or name their files differently) still use
// them; these are the canonical descriptors, used only for what the server could not provide.
const wellKnownFiles = [
  file_google_protobuf_any,
  file_google_protobuf_duration,
  file_google_protobuf_empty,
  file_google_protobuf_field_mask,
  file_google_protobuf_struct,
  file_google_protobuf_timestamp,
  file_google_protobuf_wrappers,
].map((file) => file.proto);

/**
 * The FileDescriptorProtos learned from a server, turned into a registry of message and service
 * schemas.
 *
 * Descriptors from reflection cannot be used as they come: @grpc/reflection (which our servers
 * use) merges all files of a package into one synthetic file ("lotse_common_v1.proto"), declares
 * no imports, writes type names relative to their scope ("common.v1.AgeGroup") and leaves out
 * json_name. Protobuf runtimes expect what protoc writes, so the pool qualifies every type name,
 * derives the imports from the types a file really uses, and fills in the JSON names.
 */
export class DescriptorPool {
  private readonly files = new Map<string, FileDescriptorProto>();

  /** Adds serialized FileDescriptorProtos; a file name seen before keeps its first version. */
  addSerialized(serialized: readonly Uint8Array[]): number {
    let added = 0;
    for (const bytes of serialized) {
      const file = fromBinary(FileDescriptorProtoSchema, bytes);
      if (this.files.has(file.name)) continue;
      this.files.set(file.name, file);
      added++;
    }
    return added;
  }

  /** Declared imports that are not in the pool yet: ask the server for them by file name. */
  missingImports(): string[] {
    const missing = new Set<string>();
    for (const file of this.files.values()) {
      for (const name of file.dependency) if (!this.files.has(name)) missing.add(name);
    }
    return [...missing];
  }

  /** Fully-qualified names of types that files use but no file in the pool defines. */
  unresolvedTypes(): string[] {
    const defined = this.definedTypes();
    const unresolved = new Set<string>();
    for (const file of this.files.values()) {
      forEachReference(file, (name, scope) => {
        if (resolveName(name, scope, defined) === undefined) unresolved.add(name.replace(/^\./, ''));
      });
    }
    return [...unresolved];
  }

  /** Fills gaps the server left with the canonical well-known types, if that closes them. */
  addWellKnownFallbacks(): void {
    const defined = this.definedTypes();
    const unresolved = new Set(this.unresolvedTypes());
    for (const file of wellKnownFiles) {
      const types = topLevelTypes(file);
      const needed = this.missingImports().includes(file.name) || types.some((t) => unresolved.has(t));
      if (needed && !types.some((t) => defined.has(t)) && !this.files.has(file.name)) this.files.set(file.name, clone(FileDescriptorProtoSchema, file));
    }
  }

  /** Builds the registry; throws when a type is still unknown or files import each other. */
  registry(): FileRegistry {
    const defined = this.definedTypes();
    const repaired = new Map<string, FileDescriptorProto>();
    for (const [name, original] of this.files) repaired.set(name, repair(original, defined, this.files));
    return createFileRegistry(create(FileDescriptorSetSchema, { file: dependencyOrder(repaired) }));
  }

  /** Every message and enum (nested ones too) by fully-qualified name, with its file's name. */
  private definedTypes(): Map<string, string> {
    const defined = new Map<string, string>();
    for (const file of this.files.values()) {
      const prefix = file.package ? `${file.package}.` : '';
      const visit = (messages: readonly DescriptorProto[], scope: string): void => {
        for (const message of messages) {
          const name = `${scope}${message.name}`;
          defined.set(name, file.name);
          for (const nested of message.enumType) defined.set(`${name}.${nested.name}`, file.name);
          visit(message.nestedType, `${name}.`);
        }
      };
      for (const enumType of file.enumType) defined.set(`${prefix}${enumType.name}`, file.name);
      visit(file.messageType, prefix);
    }
    return defined;
  }
}

function topLevelTypes(file: FileDescriptorProto): string[] {
  return [...file.messageType, ...file.enumType].map((t) => `${file.package}.${t.name}`);
}

/**
 * Calls `visit` for every type name a file refers to, with the scope the name is written in
 * (message for fields, package for methods), as protoc resolves names relative to it.
 */
function forEachReference(file: FileDescriptorProto, visit: (name: string, scope: string, set: (qualified: string) => void) => void): void {
  const onField = (field: FieldDescriptorProto, scope: string): void => {
    if (field.typeName) visit(field.typeName, scope, (q) => (field.typeName = q));
    if (field.extendee) visit(field.extendee, scope, (q) => (field.extendee = q));
  };
  const onMessage = (message: DescriptorProto, scope: string): void => {
    const inner = scope ? `${scope}.${message.name}` : message.name;
    for (const field of message.field) onField(field, inner);
    for (const extension of message.extension) onField(extension, inner);
    for (const nested of message.nestedType) onMessage(nested, inner);
  };
  for (const message of file.messageType) onMessage(message, file.package);
  for (const extension of file.extension) onField(extension, file.package);
  for (const service of file.service) {
    for (const method of service.method) {
      visit(method.inputType, file.package, (q) => (method.inputType = q));
      visit(method.outputType, file.package, (q) => (method.outputType = q));
    }
  }
}

/**
 * protoc's lookup, simplified: a leading dot means fully qualified; otherwise try the name in the
 * innermost scope, then in each enclosing one. Returns the name without a leading dot.
 */
function resolveName(name: string, scope: string, defined: Map<string, string>): string | undefined {
  if (name.startsWith('.')) return defined.has(name.slice(1)) ? name.slice(1) : undefined;
  for (let current = scope; ; current = current.slice(0, Math.max(current.lastIndexOf('.'), 0))) {
    const candidate = current ? `${current}.${name}` : name;
    if (defined.has(candidate)) return candidate;
    if (!current) return undefined;
  }
}

function repair(original: FileDescriptorProto, defined: Map<string, string>, files: Map<string, FileDescriptorProto>): FileDescriptorProto {
  const file = clone(FileDescriptorProtoSchema, original);
  const imports = new Set(file.dependency.filter((name) => files.has(name)));
  forEachReference(file, (name, scope, set) => {
    const qualified = resolveName(name, scope, defined);
    if (qualified === undefined) throw new Error(`the server's descriptors use the type ${name} (in ${file.name}) but define it nowhere`);
    set(`.${qualified}`);
    const home = defined.get(qualified)!;
    if (home !== file.name) imports.add(home);
  });
  file.dependency = [...imports];
  // Indexes into the old import list would point at the wrong files now.
  file.publicDependency = [];
  file.weakDependency = [];
  const fillJsonNames = (messages: readonly DescriptorProto[]): void => {
    for (const message of messages) {
      for (const field of message.field) if (!field.jsonName) field.jsonName = protoCamelCase(field.name);
      fillJsonNames(message.nestedType);
    }
  };
  fillJsonNames(file.messageType);
  return file;
}

/** Imports before importers, as the registry resolves a file's types when it is added. */
function dependencyOrder(files: Map<string, FileDescriptorProto>): FileDescriptorProto[] {
  const ordered: FileDescriptorProto[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, path: string[]): void => {
    if (state.get(name) === 'done') return;
    if (state.get(name) === 'visiting') throw new Error(`the server's descriptors import each other in a cycle: ${[...path, name].join(' → ')}`);
    state.set(name, 'visiting');
    const file = files.get(name)!;
    for (const dependency of file.dependency) visit(dependency, [...path, name]);
    state.set(name, 'done');
    ordered.push(file);
  };
  for (const name of files.keys()) visit(name, []);
  return ordered;
}
