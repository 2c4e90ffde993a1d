"""End to end: the built scopeguard binary against the fake HubSpot, called
through the Python client. `make python-test` builds both binaries first."""

from __future__ import annotations

import datetime
import unittest
import urllib.error
import urllib.parse
import urllib.request

import grpc

from scopeguard_client import (
    CredentialType,
    RootCause,
    ScopeGuardClient,
    ScopeGuardError,
    Verdict,
)
from tests.harness import APP_NAME, FakeHubSpot, ScopeGuard, unreachable_url

AUDIT_LOGS = {"method": "GET", "path": "/account-info/v3/activity/audit-logs"}


class ScopeGuardOverGRPCTest(unittest.TestCase):
    fake: FakeHubSpot
    server: ScopeGuard
    client: ScopeGuardClient

    @classmethod
    def setUpClass(cls) -> None:
        cls.fake = FakeHubSpot()
        cls.addClassCleanup(cls.fake.stop)
        cls.server = ScopeGuard(cls.fake.seed["url"], cls.fake.seed)
        cls.addClassCleanup(cls._stop_server)
        cls.client = ScopeGuardClient(cls.server.address, timeout=10)
        cls.addClassCleanup(cls.client.close)

    @classmethod
    def _stop_server(cls) -> None:
        code = cls.server.stop()
        if code != 0:
            raise AssertionError(f"scopeguard exited {code} on SIGTERM; its log:\n{cls.server.log()}")

    @property
    def seed(self) -> dict:
        return self.fake.seed

    def test_check_scopes_by_granted_scopes(self) -> None:
        response = self.client.check_scopes(
            endpoints=[
                {"method": "GET", "path": "/crm/v3/objects/contacts/123?archived=false"},
                {"method": "GET", "path": "https://api.hubapi.com/crm/v3/objects/deals"},
            ],
            granted_scopes=["crm.objects.contacts.read"],
        )
        self.assertFalse(response.allowed)
        self.assertEqual([d.verdict for d in response.decisions], [Verdict.VERDICT_ALLOWED, Verdict.VERDICT_MISSING_SCOPES])
        self.assertEqual(list(response.decisions[0].satisfied_by.scopes), ["crm.objects.contacts.read"])
        self.assertEqual(list(response.missing_scopes), ["crm.objects.deals.read"])
        self.assertFalse(response.HasField("token"), "no token was given, so none is described")

    def test_check_scopes_by_access_token(self) -> None:
        response = self.client.check_scopes(
            endpoints=[{"method": "POST", "path": "/crm/v3/objects/contacts"}],
            access_token=self.seed["access_token"],
        )
        self.assertTrue(response.allowed)
        token = response.token
        self.assertTrue(token.active)
        self.assertEqual(token.credential_type, CredentialType.CREDENTIAL_TYPE_OAUTH_ACCESS_TOKEN)
        self.assertEqual(token.hub_id, self.seed["hub_id"])
        self.assertEqual(token.app_id, self.seed["app_id"])
        self.assertEqual(list(token.scopes), sorted(self.seed["scopes"]))
        self.assertNotIn(self.seed["access_token"], token.fingerprint, "the fingerprint does not reveal the token")

    def test_plan_scopes(self) -> None:
        response = self.client.plan_scopes(
            endpoints=[
                {"method": "GET", "path": "/crm/v3/objects/contacts"},
                {"method": "POST", "path": "/crm/v3/objects/contacts"},
                {"method": "POST", "path": "/crm/v3/objects/deals/search"},
            ],
            client_id=self.seed["client_id"],
            redirect_uri="https://shop.example/oauth/callback",
        )
        self.assertEqual(
            list(response.required_scopes),
            ["crm.objects.contacts.read", "crm.objects.contacts.write", "crm.objects.deals.read"],
        )
        self.assertTrue(response.exact)
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(response.authorize_url).query)
        self.assertEqual(query["client_id"], [self.seed["client_id"]])
        self.assertEqual(query["scope"], ["crm.objects.contacts.read crm.objects.contacts.write crm.objects.deals.read"])

    def test_explain_error_on_the_seed_403(self) -> None:
        request = urllib.request.Request(
            self.seed["url"] + AUDIT_LOGS["path"],
            headers={"Authorization": "Bearer " + self.seed["access_token"]},
        )
        with self.assertRaises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
        upstream = refused.exception
        with upstream:
            self.assertEqual(upstream.code, 403, "the fake refuses the audit log, as HubSpot does below Enterprise")
            body = upstream.read().decode()
            headers = dict(upstream.headers.items())
        response = self.client.explain_error(
            http_status=upstream.code, body=body, headers=headers, endpoint=AUDIT_LOGS,
            access_token=self.seed["access_token"],
        )
        self.assertEqual(response.root_cause, RootCause.ROOT_CAUSE_SCOPE_GRANTED_BUT_FORBIDDEN)
        self.assertEqual(response.category, "MISSING_SCOPES")
        self.assertEqual(list(response.required_scopes), ["account-info.security.read"])
        self.assertEqual(list(response.missing_scopes), [])
        self.assertIn("account-info.security.read", response.granted_scopes)
        self.assertTrue(response.catalog_agrees)
        self.assertTrue(response.remediations, "the diagnosis says what to do")

    def test_refresh_token_is_shared(self) -> None:
        first = self.client.refresh_token(refresh_token=self.seed["refresh_token"], app=APP_NAME)
        second = self.client.refresh_token(refresh_token=self.seed["refresh_token"], app=APP_NAME)
        self.assertNotEqual(first.access_token, "")
        self.assertFalse(first.shared)
        self.assertEqual(first.hub_id, self.seed["hub_id"])
        self.assertGreater(first.expires_in, 0)
        self.assertTrue(second.shared)
        self.assertEqual(second.access_token, first.access_token)

    def test_empty_check_scopes_is_invalid_argument(self) -> None:
        with self.assertRaises(ScopeGuardError) as raised:
            self.client.check_scopes()
        error = raised.exception
        self.assertEqual(error.code, grpc.StatusCode.INVALID_ARGUMENT)
        self.assertEqual(error.reason, "INVALID_REQUEST")
        self.assertEqual(error.domain, "scopeguard")
        self.assertEqual(error.metadata["violations"], "1")
        self.assertRegex(error.request_id, r"\S", "every error names its request id")
        self.assertEqual(
            [(v.field, v.description, v.reason) for v in error.field_violations],
            [("endpoints", "must contain at least 1 item(s)", "repeated.min_items")],
        )
        self.assertIsNone(error.retry_delay)

    def test_revoked_refresh_token_is_unauthenticated(self) -> None:
        revoked = self.seed["revoked_refresh_token"]
        with self.assertRaises(ScopeGuardError) as raised:
            self.client.refresh_token(refresh_token=revoked, app=APP_NAME)
        error = raised.exception
        self.assertEqual(error.code, grpc.StatusCode.UNAUTHENTICATED)
        self.assertEqual(error.reason, "REFRESH_TOKEN_INVALID")
        self.assertEqual(error.metadata["hubspot_status"], "BAD_REFRESH_TOKEN")
        self.assertNotIn(revoked, str(error), "the refresh token is not echoed")

    def test_request_and_fields_are_exclusive(self) -> None:
        from scopeguard_client import CheckScopesRequest

        with self.assertRaises(TypeError):
            self.client.check_scopes(CheckScopesRequest(), granted_scopes=["oauth"])


class HubSpotDownTest(unittest.TestCase):
    """A scopeguard whose HubSpot does not answer: RefreshToken is
    UNAVAILABLE with RetryInfo after its retries."""

    def test_refresh_token_unavailable_with_retry_info(self) -> None:
        seed = {"client_id": "5f0c1a9e-2b3d-4e5f-8a6b-7c8d9e0f1a2b", "client_secret": "never-sent-anywhere"}
        server = ScopeGuard(unreachable_url(), seed)
        self.addCleanup(lambda: self.assertEqual(server.stop(), 0, server.log()))
        with ScopeGuardClient(server.address, timeout=30) as client:
            with self.assertRaises(ScopeGuardError) as raised:
                client.refresh_token(refresh_token="na1-0000", app=APP_NAME)
        error = raised.exception
        self.assertEqual(error.code, grpc.StatusCode.UNAVAILABLE, error)
        self.assertEqual(error.reason, "HUBSPOT_UNAVAILABLE")
        self.assertIsNotNone(error.retry_delay)
        self.assertGreater(error.retry_delay, datetime.timedelta(0))


if __name__ == "__main__":
    unittest.main()
