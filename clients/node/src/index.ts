// A typed Node client for scopeguard's ScopeGuardService over gRPC.

import type { MessageInitShape } from "@bufbuild/protobuf";
import { createClient, type CallOptions, type Interceptor } from "@connectrpc/connect";
import { createGrpcTransport, Http2SessionManager } from "@connectrpc/connect-node";

import {
  DecisionView,
  ScopeGuardService,
  type CheckScopesRequestSchema,
  type CheckScopesResponse,
  type ExplainErrorRequestSchema,
  type ExplainErrorResponse,
  type PlanScopesRequestSchema,
  type PlanScopesResponse,
  type RefreshTokenRequestSchema,
  type RefreshTokenResponse,
} from "../gen/scopeguard/v1/service_pb.js";
import { toScopeGuardError } from "./errors.js";

export { ScopeGuardError, toScopeGuardError, type FieldViolation, type GrpcCodeName } from "./errors.js";
export * from "../gen/scopeguard/v1/error_reason_pb.js";
export * from "../gen/scopeguard/v1/explain_pb.js";
export * from "../gen/scopeguard/v1/service_pb.js";
export * from "../gen/scopeguard/v1/types_pb.js";

/**
 * A CheckScopes request as a plain object (camelCase fields, enums by value).
 * Callers on a hot path (a check before every HubSpot call) should set
 * `view: DecisionView.BASIC` (or the client's defaultView): the answer then
 * carries only verdicts and missing scopes.
 */
export type CheckScopesInput = MessageInitShape<typeof CheckScopesRequestSchema>;
/** An ExplainError request as a plain object. */
export type ExplainErrorInput = MessageInitShape<typeof ExplainErrorRequestSchema>;
/** A RefreshToken request as a plain object. */
export type RefreshTokenInput = MessageInitShape<typeof RefreshTokenRequestSchema>;
/** A PlanScopes request as a plain object. */
export type PlanScopesInput = MessageInitShape<typeof PlanScopesRequestSchema>;

/** How to reach scopeguard. */
export interface ScopeGuardClientOptions {
  /**
   * The server: "host:port" (plaintext, like grpcurl -plaintext) or a URL,
   * "http://host:port" or "https://host:port" for TLS.
   */
  address: string;
  /** Deadline of each call in milliseconds, unless a call sets its own timeoutMs; none when omitted. */
  timeoutMs?: number;
  /** Connect interceptors run around every call (e.g. to add x-request-id). */
  interceptors?: Interceptor[];
  /**
   * The view of CheckScopes and PlanScopes answers whose request sets none:
   * DecisionView.BASIC for verdicts and missing scopes only (the hot-path
   * answer), DecisionView.FULL for whole decisions. When omitted, the
   * server's default, FULL.
   */
  defaultView?: DecisionView;
}

/**
 * ScopeGuardClient calls the four RPCs. Each resolves to the response message
 * or rejects with a ScopeGuardError. Requests are plain objects; see the
 * proto for every field.
 */
export interface ScopeGuardClient {
  /** CheckScopes: may these scopes (or this token) call these endpoints? */
  checkScopes(request: CheckScopesInput, options?: CallOptions): Promise<CheckScopesResponse>;
  /** ExplainError: the root cause of a HubSpot error response, and the fix. */
  explainError(request: ExplainErrorInput, options?: CallOptions): Promise<ExplainErrorResponse>;
  /** RefreshToken: a fresh access token, one upstream refresh however many callers ask. */
  refreshToken(request: RefreshTokenInput, options?: CallOptions): Promise<RefreshTokenResponse>;
  /** PlanScopes: the least-privileged scopes covering these endpoints, and the install URL. */
  planScopes(request: PlanScopesInput, options?: CallOptions): Promise<PlanScopesResponse>;
  /** close drops the HTTP/2 connection, cancelling calls in flight. The client reconnects if used again. */
  close(): void;
}

/** createScopeGuardClient returns a client for the server at options.address. */
export function createScopeGuardClient(options: ScopeGuardClientOptions): ScopeGuardClient {
  const baseUrl = options.address.includes("://") ? options.address : `http://${options.address}`;
  const sessionManager = new Http2SessionManager(baseUrl);
  const transport = createGrpcTransport({
    baseUrl,
    sessionManager,
    ...(options.timeoutMs === undefined ? {} : { defaultTimeoutMs: options.timeoutMs }),
    ...(options.interceptors === undefined ? {} : { interceptors: options.interceptors }),
  });
  const client = createClient(ScopeGuardService, transport);
  const withView = <R extends { view?: DecisionView }>(request: R): R =>
    request.view || options.defaultView === undefined ? request : { ...request, view: options.defaultView };
  return {
    checkScopes: (request, callOptions) => client.checkScopes(withView(request), callOptions).catch(rethrow),
    explainError: (request, callOptions) => client.explainError(request, callOptions).catch(rethrow),
    refreshToken: (request, callOptions) => client.refreshToken(request, callOptions).catch(rethrow),
    planScopes: (request, callOptions) => client.planScopes(withView(request), callOptions).catch(rethrow),
    close: () => sessionManager.abort(),
  };
}

function rethrow(error: unknown): never {
  throw toScopeGuardError(error);
}
