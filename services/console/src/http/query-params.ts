// The console API's query parameters: numbers and hex ids, refused with 400 when malformed.
import { HttpError } from './http-server.js';

export const num = (v: string | null) => (v && /^\d+(\.\d+)?$/.test(v) ? Number(v) : undefined);
export const hex = (v: string, n: number, what: string) => {
  if (!new RegExp(`^[0-9a-f]{${n}}$`).test(v)) throw new HttpError(400, `${what} must be ${n} hex digits`, 'INVALID_ARGUMENT');
  return v;
};
