// Unit tier: the wire checks on their own, against the real .proto files.
import { join } from 'node:path';
import { loadSync } from '@grpc/proto-loader';
import { BinaryWriter, WireType } from '@bufbuild/protobuf/wire';
import { jobCentre, protoRoot } from '@lotse/contracts';
import { describe, expect, it } from 'vitest';
import { RequestShapes } from './request-checks.js';

const shapes = new RequestShapes(loadSync(join(protoRoot, 'lotse/job_centre/v1/job_centre.proto'), { includeDirs: [protoRoot], keepCase: true, defaults: true, oneofs: true }));
const type = 'lotse.job_centre.v1.AgreeCooperationPlanRequest';
const plan = (steps: Partial<jobCentre.PlanStep>[]) =>
  jobCentre.AgreeCooperationPlanRequest.encode(jobCentre.AgreeCooperationPlanRequest.fromPartial({ requestId: 'r-1', customerId: 'c', planDate: '2026-12-01', goals: ['a'], steps })).finish();
const splice = (bytes: Uint8Array, marker: string, replacement: number[]) => {
  const b = Buffer.from(bytes);
  const at = b.indexOf(marker);
  return Buffer.concat([b.subarray(0, at), Buffer.from(replacement), b.subarray(at + marker.length)]);
};

describe('request checks', () => {
  it('find the request type of an RPC path, relative names resolved', () => {
    expect(shapes.requestTypeOf(jobCentre.JobCentreServiceService.agreeCooperationPlan.path)).toBe(type);
  });

  it('accept a valid request', () => {
    expect(shapes.check(type, plan([{ description: 'Sprachkurs', dueDate: '2027-01-01', responsible: 1 }]))).toEqual({ violations: [], total: 0 });
  });

  it('name a nested field by its path: bad UTF-8 and an unknown enum in the second step', () => {
    const bytes = splice(plan([{ description: 'ok', responsible: 1 }, { description: 'XX', responsible: 77 as jobCentre.StepResponsible }]), 'XX', [0xc3, 0x28]);
    expect(shapes.check(type, bytes).violations).toEqual([
      { field: 'steps[1].description', description: 'must be valid UTF-8' },
      { field: 'steps[1].responsible', description: 'unknown value 77' },
    ]);
  });

  it('count every violation but keep only the first `max`', () => {
    const steps = Array.from({ length: 50 }, () => ({ responsible: 99 as jobCentre.StepResponsible }));
    const found = shapes.check(type, plan(steps), 20);
    expect(found.violations).toHaveLength(20);
    expect(found.total).toBe(50);
  });

  it('skip unknown fields and fields sent with another wire type, as the decoder does', () => {
    const extra = new BinaryWriter().tag(99, WireType.LengthDelimited).bytes(Uint8Array.from([0xff])).tag(2, WireType.Varint).int32(5).finish();
    expect(shapes.check(type, Buffer.concat([plan([]), extra])).total).toBe(0);
  });

  it('throw on bytes that are no message: the server answers INVALID_ARGUMENT', () => {
    expect(() => shapes.check(type, Uint8Array.from([0x0a, 0x05, 0x41]))).toThrow();
    expect(() => shapes.check(type, Uint8Array.from([0x0f]))).toThrow();
  });

  it('check the strings of a map, whose entry type proto-loader lists only inside its message', () => {
    const all = new RequestShapes(loadSync(join(protoRoot, 'lotse/data_protection/v1/data_protection.proto'), { includeDirs: [protoRoot], keepCase: true }));
    const entry = new BinaryWriter().tag(1, WireType.LengthDelimited).string('k').tag(2, WireType.LengthDelimited).bytes(Uint8Array.from([0xff])).finish();
    const bytes = new BinaryWriter().tag(10, WireType.LengthDelimited).bytes(entry).finish();
    expect(all.check('lotse.data_protection.v1.AuditEntry', bytes).violations).toEqual([{ field: 'details[0].value', description: 'must be valid UTF-8' }]);
  });
});
