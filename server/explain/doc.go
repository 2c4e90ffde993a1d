// Package explain reads HubSpot error responses in every shape they arrive in
// (HubSpot's JSON error object, older and OAuth token-endpoint forms, bodies
// wrapped by client libraries, plain text and HTML) and diagnoses them: one
// root cause, a summary a person understands in one read, and ordered
// remediations.
//
// The package is pure: it does no I/O and keeps no state. Parse turns a raw
// status, body and headers into a Parsed value; Diagnose (and its shorthand
// Explain) combines a Parsed value with facts the caller looked up elsewhere
// (the granted scopes, the credential's kind, the catalog's requirement for
// the endpoint, per-scope tier notes, the app's client id) into a
// scopeguardv1.ExplainErrorResponse.
//
// Malformed input is an answer, never an error: whatever could be read is
// reported with ROOT_CAUSE_UNKNOWN. Work is bounded for any input up to the
// 1 MiB the gRPC layer accepts, and nothing that looks like a credential is
// echoed back.
package explain
