// A check of the validator itself: the spec's own examples pass the spec's schemas as ajv
// compiles them here (strict, 2020-12, the spec's keywords registered), and a broken one fails.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hsdsValidator, pageErrors } from './hsds-schemas.js';

const v = hsdsValidator();
const example = (name: string) => JSON.parse(readFileSync(join(v.dir, 'examples', `${name}.json`), 'utf8'));
const messages = (errors: { instancePath: string; message?: string }[]) => errors.map((e) => `${e.instancePath} ${e.message}`);

describe('the HSDS 3.0 schemas, compiled by ajv (2020-12, strict)', () => {
  it('every schema of the spec compiles', () => {
    for (const name of v.schemas) expect(() => v.errors(name, {}), name).not.toThrow();
  });

  const single: [string, string][] = [
    ['service_full', 'compiled/service'],
    ['organization_full', 'compiled/organization'],
    ['service_at_location_full', 'compiled/service_at_location'],
    ['location', 'location'],
    ['taxonomy', 'taxonomy'],
    ['taxonomy_term', 'taxonomy_term'],
    ['tabular', 'compiled/tabular'],
  ];
  for (const [file, schema] of single) {
    it(`examples/${file}.json is valid against ${schema}`, () => {
      expect(messages(v.errors(schema, example(file)))).toEqual([]);
    });
  }

  const pages: [string, string][] = [
    ['service_list', 'compiled/service_list'],
    ['organization_list', 'compiled/organization_list'],
    ['service_at_location_list', 'compiled/service_at_location_list'],
    ['taxonomy_list', 'taxonomy'],
    ['taxonomy_term_list', 'taxonomy_term'],
  ];
  for (const [file, schema] of pages) {
    it(`examples/${file}.json is a Page of ${schema}`, () => {
      expect(pageErrors(v, schema, example(file))).toEqual([]);
    });
  }

  it('examples/base.json has the API root’s fields', () => {
    const base = example('base');
    expect(Object.keys(base).sort()).toEqual(['openapi_url', 'profile', 'version']);
  });

  it('refuses a service without its required name, a bad uuid and an unknown status', () => {
    const broken = { ...example('service_full'), id: 'not-a-uuid', status: 'open' };
    delete broken.name;
    const errors = messages(v.errors('compiled/service', broken));
    expect(errors).toEqual(expect.arrayContaining([" must have required property 'name'", '/id must match format "uuid"', '/status must be equal to one of the allowed values']));
  });

  it('refuses a nested object that breaks its own schema (a phone without a number)', () => {
    const broken = example('service_full');
    delete broken.phones[0].number;
    expect(messages(v.errors('compiled/service', broken))).toContain("/phones/0 must have required property 'number'");
    const flat = example('service_full');
    expect(messages(v.errors('service', { ...flat, phones: [{ id: flat.phones[0].id }] }))).toContain("/phones/0 must have required property 'number'");
  });
});
