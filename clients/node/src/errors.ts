// Errors from scopeguard, decoded from the gRPC status and its
// google.rpc details into one plain object callers can branch on.

import { createRegistry, type Message } from "@bufbuild/protobuf";
import type { Duration } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";

import {
  BadRequestSchema,
  ErrorInfoSchema,
  RetryInfoSchema,
  file_google_rpc_error_details,
} from "../gen/google/rpc/error_details_pb.js";

/** The canonical gRPC status code names, as grpcurl and the README write them. */
export type GrpcCodeName =
  | "CANCELLED"
  | "UNKNOWN"
  | "INVALID_ARGUMENT"
  | "DEADLINE_EXCEEDED"
  | "NOT_FOUND"
  | "ALREADY_EXISTS"
  | "PERMISSION_DENIED"
  | "RESOURCE_EXHAUSTED"
  | "FAILED_PRECONDITION"
  | "ABORTED"
  | "OUT_OF_RANGE"
  | "UNIMPLEMENTED"
  | "INTERNAL"
  | "UNAVAILABLE"
  | "DATA_LOSS"
  | "UNAUTHENTICATED";

const grpcCodeNames: Record<Code, GrpcCodeName> = {
  [Code.Canceled]: "CANCELLED",
  [Code.Unknown]: "UNKNOWN",
  [Code.InvalidArgument]: "INVALID_ARGUMENT",
  [Code.DeadlineExceeded]: "DEADLINE_EXCEEDED",
  [Code.NotFound]: "NOT_FOUND",
  [Code.AlreadyExists]: "ALREADY_EXISTS",
  [Code.PermissionDenied]: "PERMISSION_DENIED",
  [Code.ResourceExhausted]: "RESOURCE_EXHAUSTED",
  [Code.FailedPrecondition]: "FAILED_PRECONDITION",
  [Code.Aborted]: "ABORTED",
  [Code.OutOfRange]: "OUT_OF_RANGE",
  [Code.Unimplemented]: "UNIMPLEMENTED",
  [Code.Internal]: "INTERNAL",
  [Code.Unavailable]: "UNAVAILABLE",
  [Code.DataLoss]: "DATA_LOSS",
  [Code.Unauthenticated]: "UNAUTHENTICATED",
};

/** One broken request rule, from google.rpc.BadRequest. */
export interface FieldViolation {
  /** The field path, e.g. "endpoints" or "endpoints[0].method". */
  field: string;
  /** What is wrong, for people. */
  description: string;
  /** The rule id, e.g. "repeated.min_items". */
  reason: string;
}

/** Every google.rpc error detail type, to decode the details of any status. */
const errorDetailsRegistry = createRegistry(file_google_rpc_error_details);

/**
 * ScopeGuardError is a failed scopeguard call: the gRPC status plus what its
 * google.rpc details say. Branch on `reason` (a name of the ErrorReason enum
 * in proto/scopeguard/v1/error_reason.proto), not on `message`.
 */
export class ScopeGuardError extends Error {
  override readonly name = "ScopeGuardError";
  /** The gRPC status code name, e.g. "INVALID_ARGUMENT". */
  readonly code: GrpcCodeName;
  /** The gRPC status code number (Connect's Code enum), e.g. 3. */
  readonly grpcCode: Code;
  /** google.rpc.ErrorInfo.reason, e.g. "INVALID_REQUEST"; "" when the status had no ErrorInfo. */
  readonly reason: string;
  /** google.rpc.ErrorInfo.domain: "scopeguard" for the server's own errors; "" without ErrorInfo. */
  readonly domain: string;
  /** google.rpc.ErrorInfo.metadata, e.g. { request_id: "…", violations: "1" }. */
  readonly metadata: Readonly<Record<string, string>>;
  /** google.rpc.BadRequest field violations, in the server's order; empty when none. */
  readonly fieldViolations: readonly FieldViolation[];
  /** google.rpc.RetryInfo.retry_delay in milliseconds; undefined when the status has no RetryInfo. */
  readonly retryDelay: number | undefined;
  /** Every decoded google.rpc detail (ErrorInfo, BadRequest, PreconditionFailure, QuotaFailure, RetryInfo, …). */
  readonly details: readonly Message[];
  /** The error as the transport raised it. */
  override readonly cause: ConnectError;

  constructor(cause: ConnectError) {
    super(cause.rawMessage, { cause });
    this.cause = cause;
    this.grpcCode = cause.code;
    this.code = grpcCodeNames[cause.code];
    const info = cause.findDetails(ErrorInfoSchema)[0];
    this.reason = info?.reason ?? "";
    this.domain = info?.domain ?? "";
    this.metadata = { ...info?.metadata };
    this.fieldViolations = cause
      .findDetails(BadRequestSchema)
      .flatMap((badRequest) => badRequest.fieldViolations)
      .map(({ field, description, reason }) => ({ field, description, reason }));
    const retryDelay = cause.findDetails(RetryInfoSchema)[0]?.retryDelay;
    this.retryDelay = retryDelay === undefined ? undefined : durationMillis(retryDelay);
    this.details = cause.findDetails(errorDetailsRegistry);
  }
}

/**
 * toScopeGuardError turns anything a call threw into a ScopeGuardError (a
 * non-Connect error becomes code UNKNOWN, or CANCELLED for an abort).
 */
export function toScopeGuardError(error: unknown): ScopeGuardError {
  if (error instanceof ScopeGuardError) {
    return error;
  }
  return new ScopeGuardError(ConnectError.from(error));
}

function durationMillis(duration: Duration): number {
  return Number(duration.seconds) * 1000 + Math.round(duration.nanos / 1e6);
}
