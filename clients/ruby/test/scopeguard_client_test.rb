# frozen_string_literal: true

# End to end: the built scopeguard binary against the fake HubSpot, called
# through the Ruby client. `make ruby-test` builds both binaries first.

require "minitest/autorun"
require "net/http"
require "uri"

require "scopeguard_client"
require_relative "harness"

AUDIT_LOGS = { method: "GET", path: "/account-info/v3/activity/audit-logs" }.freeze

# One fake HubSpot and one scopeguard for the whole suite, stopped after it;
# a non-zero exit on SIGTERM fails the run.
module Servers
  def self.fake
    @fake ||= Harness::FakeHubSpot.new
  end

  def self.scopeguard
    @scopeguard ||= Harness::ScopeGuard.new(fake.seed.fetch("url"), fake.seed)
  end

  def self.stop
    code = @scopeguard&.stop
    @fake&.stop
    raise "scopeguard exited #{code} on SIGTERM; its log:\n#{@scopeguard.log}" unless code.nil? || code.zero?
  end
end
Minitest.after_run { Servers.stop }

class ScopeGuardOverGRPCTest < Minitest::Test
  def setup
    @seed = Servers.fake.seed
    @client = ScopeGuard::Client.new(Servers.scopeguard.address, timeout: 10)
  end

  def teardown
    @client.close
  end

  def test_check_scopes_by_granted_scopes
    response = @client.check_scopes(
      endpoints: [
        { method: "GET", path: "/crm/v3/objects/contacts/123?archived=false" },
        { method: "GET", path: "https://api.hubapi.com/crm/v3/objects/deals" },
      ],
      granted_scopes: ["crm.objects.contacts.read"],
    )
    refute response.allowed
    assert_equal %i[VERDICT_ALLOWED VERDICT_MISSING_SCOPES], response.decisions.map(&:verdict)
    assert_equal ["crm.objects.contacts.read"], response.decisions[0].satisfied_by.scopes.to_a
    assert_equal ["crm.objects.deals.read"], response.missing_scopes.to_a
    assert_nil response.token, "no token was given, so none is described"
  end

  def test_check_scopes_by_access_token
    response = @client.check_scopes(
      endpoints: [{ method: "POST", path: "/crm/v3/objects/contacts" }],
      access_token: @seed.fetch("access_token"),
    )
    assert response.allowed
    token = response.token
    assert token.active
    assert_equal :CREDENTIAL_TYPE_OAUTH_ACCESS_TOKEN, token.credential_type
    assert_equal @seed.fetch("hub_id"), token.hub_id
    assert_equal @seed.fetch("app_id"), token.app_id
    assert_equal @seed.fetch("scopes").sort, token.scopes.to_a
    refute_includes token.fingerprint, @seed.fetch("access_token"), "the fingerprint does not reveal the token"
  end

  def test_plan_scopes
    response = @client.plan_scopes(
      endpoints: [
        { method: "GET", path: "/crm/v3/objects/contacts" },
        { method: "POST", path: "/crm/v3/objects/contacts" },
        { method: "POST", path: "/crm/v3/objects/deals/search" },
      ],
      client_id: @seed.fetch("client_id"),
      redirect_uri: "https://shop.example/oauth/callback",
    )
    assert_equal %w[crm.objects.contacts.read crm.objects.contacts.write crm.objects.deals.read], response.required_scopes.to_a
    assert response.exact
    query = URI.decode_www_form(URI(response.authorize_url).query).to_h
    assert_equal @seed.fetch("client_id"), query.fetch("client_id")
    assert_equal "crm.objects.contacts.read crm.objects.contacts.write crm.objects.deals.read", query.fetch("scope")
  end

  def test_explain_error_on_the_seed_403
    uri = URI(@seed.fetch("url") + AUDIT_LOGS[:path])
    upstream = Net::HTTP.get_response(uri, { "Authorization" => "Bearer #{@seed.fetch('access_token')}" })
    assert_equal "403", upstream.code, "the fake refuses the audit log, as HubSpot does below Enterprise"
    response = @client.explain_error(
      http_status: upstream.code.to_i, body: upstream.body, headers: upstream.to_hash.transform_values { |v| v.join(", ") },
      endpoint: AUDIT_LOGS, access_token: @seed.fetch("access_token"),
    )
    assert_equal :ROOT_CAUSE_SCOPE_GRANTED_BUT_FORBIDDEN, response.root_cause
    assert_equal "MISSING_SCOPES", response.category
    assert_equal ["account-info.security.read"], response.required_scopes.to_a
    assert_empty response.missing_scopes
    assert_includes response.granted_scopes, "account-info.security.read"
    assert response.catalog_agrees
    refute_empty response.remediations, "the diagnosis says what to do"
  end

  def test_refresh_token_is_shared
    first = @client.refresh_token(refresh_token: @seed.fetch("refresh_token"), app: Harness::APP_NAME)
    second = @client.refresh_token(refresh_token: @seed.fetch("refresh_token"), app: Harness::APP_NAME)
    refute_empty first.access_token
    refute first.shared
    assert_equal @seed.fetch("hub_id"), first.hub_id
    assert_operator first.expires_in, :>, 0
    assert second.shared
    assert_equal first.access_token, second.access_token
  end

  def test_empty_check_scopes_is_invalid_argument
    error = assert_raises(ScopeGuard::Error) { @client.check_scopes }
    assert_equal GRPC::Core::StatusCodes::INVALID_ARGUMENT, error.code
    assert_equal "INVALID_ARGUMENT", error.code_name
    assert_equal "INVALID_REQUEST", error.reason
    assert_equal "scopeguard", error.domain
    assert_equal "1", error.metadata.fetch("violations")
    assert_match(/\S/, error.request_id, "every error names its request id")
    assert_equal [ScopeGuard::FieldViolation.new(field: "endpoints", description: "must contain at least 1 item(s)", reason: "repeated.min_items")],
                 error.field_violations
    assert_nil error.retry_delay
  end

  def test_revoked_refresh_token_is_unauthenticated
    revoked = @seed.fetch("revoked_refresh_token")
    error = assert_raises(ScopeGuard::Error) { @client.refresh_token(refresh_token: revoked, app: Harness::APP_NAME) }
    assert_equal "UNAUTHENTICATED", error.code_name
    assert_equal "REFRESH_TOKEN_INVALID", error.reason
    assert_equal "BAD_REFRESH_TOKEN", error.metadata.fetch("hubspot_status")
    refute_includes error.message, revoked, "the refresh token is not echoed"
  end

  def test_request_and_fields_are_exclusive
    assert_raises(ArgumentError) { @client.check_scopes(Scopeguard::V1::CheckScopesRequest.new, granted_scopes: ["oauth"]) }
  end
end

# A scopeguard whose HubSpot does not answer: RefreshToken is UNAVAILABLE
# with RetryInfo after its retries.
class HubSpotDownTest < Minitest::Test
  def test_refresh_token_unavailable_with_retry_info
    seed = { "client_id" => "5f0c1a9e-2b3d-4e5f-8a6b-7c8d9e0f1a2b", "client_secret" => "never-sent-anywhere" }
    server = Harness::ScopeGuard.new(Harness.unreachable_url, seed)
    client = ScopeGuard::Client.new(server.address, timeout: 30)
    error = assert_raises(ScopeGuard::Error) { client.refresh_token(refresh_token: "na1-0000", app: Harness::APP_NAME) }
    assert_equal "UNAVAILABLE", error.code_name
    assert_equal "HUBSPOT_UNAVAILABLE", error.reason
    assert_operator error.retry_delay, :>, 0
  ensure
    client&.close
    assert_equal 0, server.stop, server.log if server
  end
end
