import { status, type ServiceError } from '@grpc/grpc-js';
import { rpcErrorDetails, rpcStatus } from '@lotse/contracts';

export interface FieldViolation {
  field: string;
  description: string;
}

export interface ErrorReport {
  /** e.g. "INVALID_ARGUMENT" */
  codeName: string;
  details: string;
  fieldViolations: FieldViolation[];
  /** Type URLs of details this client cannot show (anything but google.rpc.BadRequest). */
  otherDetails: string[];
}

const BAD_REQUEST = 'google.rpc.BadRequest';

/**
 * What a failed call says, including the google.rpc.Status a server may put in the
 * grpc-status-details-bin trailer (our servers do for invalid input: one violation per field).
 */
export function errorReport(error: ServiceError): ErrorReport {
  const report: ErrorReport = { codeName: status[error.code] ?? `CODE_${error.code}`, details: error.details, fieldViolations: [], otherDetails: [] };
  const raw = error.metadata?.get('grpc-status-details-bin')[0];
  if (!raw || typeof raw === 'string') return report;
  let decoded: rpcStatus.Status;
  try {
    decoded = rpcStatus.Status.decode(raw);
  } catch {
    // A garbled trailer must not hide the status itself.
    report.otherDetails.push('(undecodable grpc-status-details-bin)');
    return report;
  }
  for (const detail of decoded.details) {
    // The type URL's last path segment is the message name; the prefix varies by server.
    if (detail.typeUrl.slice(detail.typeUrl.lastIndexOf('/') + 1) === BAD_REQUEST) {
      report.fieldViolations.push(...rpcErrorDetails.BadRequest.decode(detail.value).fieldViolations.map(({ field, description }) => ({ field, description })));
    } else {
      report.otherDetails.push(detail.typeUrl);
    }
  }
  return report;
}

/** "ERROR INVALID_ARGUMENT: …" and one indented line per field violation. */
export function formatErrorReport(report: ErrorReport): string {
  const lines = [`ERROR ${report.codeName}: ${report.details}`];
  for (const violation of report.fieldViolations) lines.push(`  ${violation.field}: ${violation.description}`);
  for (const typeUrl of report.otherDetails) lines.push(`  (detail ${typeUrl})`);
  return lines.join('\n');
}
