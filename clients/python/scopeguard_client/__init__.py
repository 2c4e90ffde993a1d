"""A typed Python client for scopeguard's ScopeGuardService over gRPC.

The messages are the generated ones in ../gen (protoc's Python output and
grpc_python_plugin's stubs); put both directories on the import path:

    PYTHONPATH=clients/python:clients/python/gen python3 ...

Each call returns the response message or raises ScopeGuardError, which
decodes the google.rpc details scopeguard attaches to every error
(ErrorInfo, BadRequest, RetryInfo, ...). Branch on ``error.reason`` (a name
of the ErrorReason enum in proto/scopeguard/v1/error_reason.proto), never on
the message.
"""

from __future__ import annotations

import dataclasses
import datetime
from collections.abc import Mapping, Sequence
from typing import Any

import grpc
from google.protobuf.message import Message
from google.rpc import error_details_pb2, status_pb2

from scopeguard.v1 import service_pb2_grpc

# The messages callers build requests from and read answers with.
from scopeguard.v1.error_reason_pb2 import ErrorReason
from scopeguard.v1.explain_pb2 import Action, Remediation, Requirement, RootCause
from scopeguard.v1.service_pb2 import (
    CheckScopesRequest,
    CheckScopesResponse,
    ExplainErrorRequest,
    ExplainErrorResponse,
    PlanScopesRequest,
    PlanScopesResponse,
    RefreshTokenRequest,
    RefreshTokenResponse,
)
from scopeguard.v1.types_pb2 import AppType, CredentialType, Endpoint, Verdict

__all__ = [
    "Action",
    "AppType",
    "CheckScopesRequest",
    "CheckScopesResponse",
    "CredentialType",
    "Endpoint",
    "ErrorReason",
    "ExplainErrorRequest",
    "ExplainErrorResponse",
    "FieldViolation",
    "PlanScopesRequest",
    "PlanScopesResponse",
    "RefreshTokenRequest",
    "RefreshTokenResponse",
    "Remediation",
    "Requirement",
    "RootCause",
    "ScopeGuardClient",
    "ScopeGuardError",
    "Verdict",
]

# The trailer in which gRPC servers send the google.rpc.Status with details.
_STATUS_DETAILS_KEY = "grpc-status-details-bin"

# Every google.rpc error detail type, by full name, to decode any status.
_DETAIL_TYPES: dict[str, type[Message]] = {
    descriptor.full_name: getattr(error_details_pb2, name)
    for name, descriptor in error_details_pb2.DESCRIPTOR.message_types_by_name.items()
}


@dataclasses.dataclass(frozen=True)
class FieldViolation:
    """One broken request rule, from google.rpc.BadRequest."""

    field: str
    """The field path, e.g. "endpoints" or "endpoints[0].method"."""
    description: str
    """What is wrong, for people."""
    reason: str
    """The rule id, e.g. "repeated.min_items"."""


class ScopeGuardError(Exception):
    """A failed scopeguard call: the gRPC status and what its details say."""

    code: grpc.StatusCode
    """The gRPC status code, e.g. grpc.StatusCode.INVALID_ARGUMENT."""
    message: str
    """The status message, for people."""
    reason: str
    """google.rpc.ErrorInfo.reason, e.g. "INVALID_REQUEST"; "" without ErrorInfo."""
    domain: str
    """google.rpc.ErrorInfo.domain: "scopeguard" for the server's errors; "" without ErrorInfo."""
    metadata: Mapping[str, str]
    """google.rpc.ErrorInfo.metadata, e.g. {"request_id": "...", "violations": "1"}."""
    field_violations: tuple[FieldViolation, ...]
    """google.rpc.BadRequest field violations, in the server's order."""
    retry_delay: datetime.timedelta | None
    """google.rpc.RetryInfo.retry_delay; None when the status has no RetryInfo."""
    details: tuple[Message, ...]
    """Every decoded google.rpc detail (ErrorInfo, BadRequest, RetryInfo, QuotaFailure, ...)."""

    def __init__(self, code: grpc.StatusCode, message: str, details: Sequence[Message] = ()) -> None:
        super().__init__(f"{code.name}: {message}")
        self.code = code
        self.message = message
        self.details = tuple(details)
        info = next((d for d in self.details if isinstance(d, error_details_pb2.ErrorInfo)), None)
        self.reason = info.reason if info else ""
        self.domain = info.domain if info else ""
        self.metadata = dict(info.metadata) if info else {}
        self.field_violations = tuple(
            FieldViolation(v.field, v.description, v.reason)
            for d in self.details
            if isinstance(d, error_details_pb2.BadRequest)
            for v in d.field_violations
        )
        retry = next((d for d in self.details if isinstance(d, error_details_pb2.RetryInfo)), None)
        self.retry_delay = retry.retry_delay.ToTimedelta() if retry and retry.HasField("retry_delay") else None

    @property
    def request_id(self) -> str:
        """The id the server logged the call under ("" if it sent none)."""
        return self.metadata.get("request_id", "")

    @classmethod
    def from_rpc_error(cls, error: grpc.RpcError) -> ScopeGuardError:
        """Decodes a failed call's status and the details in its trailers."""
        call: Any = error  # grpc raises errors that are also grpc.Call.
        code: grpc.StatusCode = call.code()
        message: str = call.details() or ""
        details: list[Message] = []
        for key, value in call.trailing_metadata() or ():
            if key != _STATUS_DETAILS_KEY:
                continue
            status = status_pb2.Status.FromString(value)
            message = status.message or message
            for packed in status.details:
                detail_type = _DETAIL_TYPES.get(packed.TypeName())
                if detail_type is not None:
                    detail = detail_type()
                    packed.Unpack(detail)
                    details.append(detail)
        return cls(code, message, details)


class ScopeGuardClient:
    """Calls the four RPCs of a scopeguard server.

    Each method takes the request message (or its fields as keywords, nested
    messages as dicts) and returns the response message, or raises
    ScopeGuardError. Use it as a context manager, or call close().
    """

    def __init__(
        self,
        address: str,
        *,
        credentials: grpc.ChannelCredentials | None = None,
        timeout: float | None = None,
    ) -> None:
        """Connects to address ("host:port"), plaintext unless credentials are given.

        timeout is each call's deadline in seconds unless a call sets its own;
        None means no deadline.
        """
        if credentials is None:
            self._channel = grpc.insecure_channel(address)
        else:
            self._channel = grpc.secure_channel(address, credentials)
        self._stub = service_pb2_grpc.ScopeGuardServiceStub(self._channel)
        self._timeout = timeout

    def check_scopes(self, request: CheckScopesRequest | None = None, /, **fields: Any) -> CheckScopesResponse:
        """CheckScopes: may these scopes (or this token) call these endpoints?"""
        return self._call(self._stub.CheckScopes, CheckScopesRequest, request, fields)

    def explain_error(self, request: ExplainErrorRequest | None = None, /, **fields: Any) -> ExplainErrorResponse:
        """ExplainError: the root cause of a HubSpot error response, and the fix."""
        return self._call(self._stub.ExplainError, ExplainErrorRequest, request, fields)

    def refresh_token(self, request: RefreshTokenRequest | None = None, /, **fields: Any) -> RefreshTokenResponse:
        """RefreshToken: a fresh access token, one upstream refresh however many callers ask."""
        return self._call(self._stub.RefreshToken, RefreshTokenRequest, request, fields)

    def plan_scopes(self, request: PlanScopesRequest | None = None, /, **fields: Any) -> PlanScopesResponse:
        """PlanScopes: the least-privileged scopes covering these endpoints, and the install URL."""
        return self._call(self._stub.PlanScopes, PlanScopesRequest, request, fields)

    def close(self) -> None:
        """Closes the channel, cancelling calls in flight."""
        self._channel.close()

    def __enter__(self) -> ScopeGuardClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _call(self, method: Any, request_type: type[Message], request: Message | None, fields: dict[str, Any]) -> Any:
        if request is not None and fields:
            raise TypeError("give a request message or its fields, not both")
        if request is None:
            request = request_type(**fields)
        try:
            return method(request, timeout=self._timeout)
        except grpc.RpcError as error:
            raise ScopeGuardError.from_rpc_error(error) from error
