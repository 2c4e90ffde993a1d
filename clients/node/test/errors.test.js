// ScopeGuardError decoding, offline: statuses built in process carry the
// details the server attaches, so every field is checked without a server.

import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { Code, ConnectError } from "@connectrpc/connect";

import {
  BadRequestSchema,
  ErrorInfoSchema,
  QuotaFailureSchema,
  RetryInfoSchema,
} from "../gen/google/rpc/error_details_pb.js";
import { ScopeGuardError, toScopeGuardError } from "../dist/index.js";

describe("toScopeGuardError", () => {
  it("reads a rate-limit status: code, ErrorInfo, RetryInfo in milliseconds, every detail", () => {
    const cause = new ConnectError("HubSpot is rate limiting this app", Code.ResourceExhausted, undefined, [
      {
        desc: ErrorInfoSchema,
        value: {
          reason: "HUBSPOT_RATE_LIMITED",
          domain: "scopeguard",
          metadata: { policy: "TEN_SECONDLY_ROLLING", retry_after_seconds: "2", request_id: "r-1" },
        },
      },
      { desc: RetryInfoSchema, value: { retryDelay: { seconds: 1n, nanos: 500_000_000 } } },
      { desc: QuotaFailureSchema, value: { violations: [{ subject: "app:4242", description: "10 calls per 10 s" }] } },
    ]);
    const error = toScopeGuardError(cause);
    assert.ok(error instanceof ScopeGuardError);
    assert.ok(error instanceof Error);
    assert.equal(error.name, "ScopeGuardError");
    assert.equal(error.message, "HubSpot is rate limiting this app");
    assert.equal(error.code, "RESOURCE_EXHAUSTED");
    assert.equal(error.grpcCode, Code.ResourceExhausted);
    assert.equal(error.reason, "HUBSPOT_RATE_LIMITED");
    assert.equal(error.domain, "scopeguard");
    assert.deepEqual(error.metadata, { policy: "TEN_SECONDLY_ROLLING", retry_after_seconds: "2", request_id: "r-1" });
    assert.equal(error.retryDelay, 1500);
    assert.deepEqual(error.fieldViolations, []);
    assert.deepEqual(error.details.map((d) => d.$typeName), [
      "google.rpc.ErrorInfo",
      "google.rpc.RetryInfo",
      "google.rpc.QuotaFailure",
    ]);
    assert.equal(error.cause, cause);
  });

  it("collects the field violations of every BadRequest", () => {
    const cause = new ConnectError("invalid request", Code.InvalidArgument, undefined, [
      { desc: BadRequestSchema, value: { fieldViolations: [{ field: "endpoints[0].method", description: "bad", reason: "string.pattern" }] } },
      { desc: BadRequestSchema, value: { fieldViolations: [{ field: "app_type", description: "undefined", reason: "enum.defined_only" }] } },
    ]);
    assert.deepEqual(toScopeGuardError(cause).fieldViolations, [
      { field: "endpoints[0].method", description: "bad", reason: "string.pattern" },
      { field: "app_type", description: "undefined", reason: "enum.defined_only" },
    ]);
  });

  it("gives empty reason, domain and metadata for a status without details", () => {
    const error = toScopeGuardError(new ConnectError("no healthy upstream", Code.Unavailable));
    assert.equal(error.code, "UNAVAILABLE");
    assert.equal(error.reason, "");
    assert.equal(error.domain, "");
    assert.deepEqual(error.metadata, {});
    assert.deepEqual(error.fieldViolations, []);
    assert.equal(error.retryDelay, undefined);
    assert.deepEqual(error.details, []);
  });

  it("names every gRPC code canonically", () => {
    const names = Object.values(Code)
      .filter((code) => typeof code === "number")
      .map((code) => toScopeGuardError(new ConnectError("x", code)).code);
    assert.deepEqual(names, [
      "CANCELLED", "UNKNOWN", "INVALID_ARGUMENT", "DEADLINE_EXCEEDED", "NOT_FOUND", "ALREADY_EXISTS",
      "PERMISSION_DENIED", "RESOURCE_EXHAUSTED", "FAILED_PRECONDITION", "ABORTED", "OUT_OF_RANGE",
      "UNIMPLEMENTED", "INTERNAL", "UNAVAILABLE", "DATA_LOSS", "UNAUTHENTICATED",
    ]);
  });

  it("wraps a non-gRPC failure as UNKNOWN and an abort as CANCELLED", () => {
    assert.equal(toScopeGuardError(new TypeError("fetch failed")).code, "UNKNOWN");
    assert.equal(toScopeGuardError(new DOMException("aborted", "AbortError")).code, "CANCELLED");
  });

  it("returns a ScopeGuardError unchanged", () => {
    const error = toScopeGuardError(new ConnectError("x", Code.Internal));
    assert.equal(toScopeGuardError(error), error);
  });
});
