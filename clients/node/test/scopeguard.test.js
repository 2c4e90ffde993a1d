// End-to-end: the built scopeguard binary against the fake HubSpot, called
// through the Node client. `make node-test` builds both binaries first.

import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import {
  CredentialType,
  DecisionView,
  RootCause,
  ScopeGuardError,
  Verdict,
  createScopeGuardClient,
} from "../dist/index.js";
import { appName, startFakeHubSpot, startScopeGuard } from "./harness.js";

const auditLogs = { method: "GET", path: "/account-info/v3/activity/audit-logs" };

describe("scopeguard over gRPC from Node", () => {
  let fake;
  let server;
  let client;

  // The timeout only bounds a hang (a binary that never gets ready); it
  // asserts nothing about speed.
  before(async () => {
    fake = await startFakeHubSpot();
    server = await startScopeGuard(fake.seed);
    client = createScopeGuardClient({ address: server.address, timeoutMs: 10_000 });
  }, { timeout: 60_000 });

  after(async () => {
    client?.close();
    const serverExit = await server?.stop();
    await fake?.stop();
    assert.equal(serverExit, 0, `scopeguard exited ${serverExit} on SIGTERM; its log:\n${server?.log()}`);
  });

  it("CheckScopes by granted scopes allows contacts and names the deals scope missing", async () => {
    const response = await client.checkScopes({
      endpoints: [
        { method: "GET", path: "/crm/v3/objects/contacts/123?archived=false" },
        { method: "GET", path: "https://api.hubapi.com/crm/v3/objects/deals" },
      ],
      grantedScopes: ["crm.objects.contacts.read"],
    });
    assert.equal(response.allowed, false);
    assert.deepEqual(response.decisions.map((d) => d.verdict), [Verdict.ALLOWED, Verdict.MISSING_SCOPES]);
    assert.deepEqual(response.decisions[0].satisfiedBy?.scopes, ["crm.objects.contacts.read"]);
    assert.deepEqual(response.missingScopes, ["crm.objects.deals.read"]);
    assert.equal(response.token, undefined, "no token was given, so none is described");
  });

  it("CheckScopes in the basic view answers the verdicts and missing scopes only", async () => {
    const request = {
      endpoints: [
        { method: "GET", path: "/crm/v3/objects/contacts/123?archived=false" },
        { method: "GET", path: "https://api.hubapi.com/crm/v3/objects/deals" },
      ],
      grantedScopes: ["crm.objects.contacts.read"],
    };
    const hotPath = createScopeGuardClient({ address: server.address, timeoutMs: 10_000, defaultView: DecisionView.BASIC });
    try {
      for (const response of [
        await client.checkScopes({ ...request, view: DecisionView.BASIC }),
        await hotPath.checkScopes(request),
      ]) {
        assert.equal(response.allowed, false);
        assert.deepEqual(response.decisions.map((d) => d.verdict), [Verdict.ALLOWED, Verdict.MISSING_SCOPES]);
        assert.deepEqual(response.decisions[0].satisfiedBy?.scopes, ["crm.objects.contacts.read"]);
        assert.deepEqual(response.decisions[1].missingScopes, ["crm.objects.deals.read"]);
        assert.deepEqual(response.missingScopes, ["crm.objects.deals.read"]);
        for (const d of response.decisions) {
          assert.equal(d.operation, undefined);
          assert.equal(d.endpoint, undefined);
          assert.equal(d.explanation, "");
          assert.deepEqual(d.alternatives, []);
        }
        assert.deepEqual(response.grantedScopes, []);
      }
      const full = await hotPath.checkScopes({ ...request, view: DecisionView.FULL });
      assert.ok(full.decisions[0].operation, "a request's own view beats the client's default");
    } finally {
      hotPath.close();
    }
  });

  it("CheckScopes by access token introspects it at the fake HubSpot", async () => {
    const { seed } = fake;
    const response = await client.checkScopes({
      endpoints: [{ method: "POST", path: "/crm/v3/objects/contacts" }],
      accessToken: seed.access_token,
    });
    assert.equal(response.allowed, true);
    assert.equal(response.decisions[0].verdict, Verdict.ALLOWED);
    const token = response.token;
    assert.ok(token, "the token is described");
    assert.equal(token.active, true);
    assert.equal(token.credentialType, CredentialType.OAUTH_ACCESS_TOKEN);
    assert.equal(token.hubId, BigInt(seed.hub_id));
    assert.equal(token.appId, BigInt(seed.app_id));
    assert.deepEqual(token.scopes, [...seed.scopes].sort());
    assert.ok(!token.fingerprint.includes(seed.access_token), "the fingerprint does not reveal the token");
  });

  it("PlanScopes plans exactly contacts read and write and deals read", async () => {
    const response = await client.planScopes({
      endpoints: [
        { method: "GET", path: "/crm/v3/objects/contacts" },
        { method: "POST", path: "/crm/v3/objects/contacts" },
        { method: "POST", path: "/crm/v3/objects/deals/search" },
      ],
      clientId: fake.seed.client_id,
      redirectUri: "https://shop.example/oauth/callback",
    });
    assert.deepEqual(response.requiredScopes, [
      "crm.objects.contacts.read",
      "crm.objects.contacts.write",
      "crm.objects.deals.read",
    ]);
    assert.deepEqual(response.optionalScopes, []);
    assert.equal(response.exact, true);
    assert.deepEqual(response.decisions.map((d) => d.verdict), [Verdict.ALLOWED, Verdict.ALLOWED, Verdict.ALLOWED]);
    const url = new URL(response.authorizeUrl);
    assert.equal(url.searchParams.get("client_id"), fake.seed.client_id);
    assert.equal(url.searchParams.get("scope"), "crm.objects.contacts.read crm.objects.contacts.write crm.objects.deals.read");
  });

  it("ExplainError diagnoses the seed 403 as granted but forbidden", async () => {
    const { seed } = fake;
    const upstream = await fetch(new URL(auditLogs.path, seed.url), {
      headers: { authorization: `Bearer ${seed.access_token}` },
    });
    assert.equal(upstream.status, 403, "the fake refuses the audit log, as HubSpot does below Enterprise");
    const response = await client.explainError({
      httpStatus: upstream.status,
      body: await upstream.text(),
      headers: Object.fromEntries(upstream.headers),
      endpoint: auditLogs,
      accessToken: seed.access_token,
    });
    assert.equal(response.rootCause, RootCause.SCOPE_GRANTED_BUT_FORBIDDEN);
    assert.equal(response.category, "MISSING_SCOPES");
    assert.deepEqual(response.requiredScopes, ["account-info.security.read"]);
    assert.deepEqual(response.missingScopes, []);
    assert.ok(response.grantedScopes.includes("account-info.security.read"), "the token holds the scope HubSpot asks for");
    assert.equal(response.catalogAgrees, true);
    assert.ok(response.remediations.length > 0, "the diagnosis says what to do");
  });

  it("RefreshToken by app name refreshes once, then shares the fresh token", async () => {
    const { seed } = fake;
    const request = { refreshToken: seed.refresh_token, app: appName };
    const first = await client.refreshToken(request);
    assert.equal(first.shared, false);
    assert.notEqual(first.accessToken, "");
    assert.equal(first.hubId, BigInt(seed.hub_id));
    assert.deepEqual(first.scopes, [...seed.scopes].sort());
    assert.ok(first.expiresIn > 0n, `expires_in ${first.expiresIn} is in the future`);
    const second = await client.refreshToken(request);
    assert.equal(second.shared, true);
    assert.equal(second.accessToken, first.accessToken);
  });

  it("an empty CheckScopes is INVALID_ARGUMENT with ErrorInfo and the field violation", async () => {
    const error = await client.checkScopes({}).then(
      () => assert.fail("an empty CheckScopes was accepted"),
      (e) => e,
    );
    assert.ok(error instanceof ScopeGuardError, `got ${error}`);
    assert.equal(error.code, "INVALID_ARGUMENT");
    assert.equal(error.reason, "INVALID_REQUEST");
    assert.equal(error.domain, "scopeguard");
    assert.equal(error.metadata.violations, "1");
    assert.match(error.metadata.request_id ?? "", /\S/, "every error names its request id");
    assert.deepEqual(error.fieldViolations, [
      { field: "endpoints", description: "must contain at least 1 item(s)", reason: "repeated.min_items" },
    ]);
    assert.equal(error.retryDelay, undefined);
  });

  it("RefreshToken with a revoked refresh token is UNAUTHENTICATED, REFRESH_TOKEN_INVALID", async () => {
    const { seed } = fake;
    const error = await client.refreshToken({ refreshToken: seed.revoked_refresh_token, app: appName }).then(
      () => assert.fail("a revoked refresh token was refreshed"),
      (e) => e,
    );
    assert.ok(error instanceof ScopeGuardError, `got ${error}`);
    assert.equal(error.code, "UNAUTHENTICATED");
    assert.equal(error.reason, "REFRESH_TOKEN_INVALID");
    assert.equal(error.metadata.hubspot_status, "BAD_REFRESH_TOKEN");
    assert.ok(!error.message.includes(seed.revoked_refresh_token), "the refresh token is not echoed");
  });
});
