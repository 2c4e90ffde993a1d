"""Starts the built binaries for the end-to-end suite.

bin/fakehubspot (the fake HubSpot, seeded with a demo account) and
bin/scopeguard serve pointed at it both listen on free ports; their
addresses are read from their output, as clients/node/test/harness.js does.
"""

from __future__ import annotations

import json
import os
import pathlib
import signal
import socket
import subprocess
import tempfile
import threading
from collections.abc import Callable
from typing import IO, Any

REPO_ROOT = pathlib.Path(__file__).resolve().parents[3]

# The name the apps file gives the fake's demo app.
APP_NAME = "shop"

# How long a binary may take to get ready: it bounds a hang, it asserts
# nothing about speed.
READY_TIMEOUT = 60.0


class _Output:
    """Reads a process's output to its end (so the process never blocks on a
    full pipe), keeps it for failure messages, and finds lines in it."""

    def __init__(self, process: subprocess.Popen[str], stream: IO[str]) -> None:
        self._process = process
        self._lines: list[str] = []
        self._changed = threading.Condition()
        self._closed = False
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream: IO[str]) -> None:
        with stream:
            for line in stream:
                with self._changed:
                    self._lines.append(line.rstrip("\n"))
                    self._changed.notify_all()
        with self._changed:
            self._closed = True
            self._changed.notify_all()

    def text(self) -> str:
        with self._changed:
            return "\n".join(self._lines)

    def line(self, matches: Callable[[str], bool]) -> str:
        """The first line that matches; raises if the stream ends first."""
        with self._changed:
            found = self._changed.wait_for(
                lambda: any(matches(l) for l in self._lines) or self._closed, timeout=READY_TIMEOUT
            )
            for line in self._lines:
                if matches(line):
                    return line
        exit_code = self._process.poll()
        reason = "timed out" if not found else f"exited (code {exit_code})"
        raise RuntimeError(f"{self._process.args[0]} {reason} before it was ready:\n{self.text()}")

    def join(self) -> None:
        self._thread.join()


def _log_record(line: str) -> dict[str, Any] | None:
    try:
        record = json.loads(line)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


def _stop(process: subprocess.Popen[str]) -> int:
    """Sends SIGTERM (unless the process already exited); returns its exit code."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    return process.wait(timeout=READY_TIMEOUT)


class FakeHubSpot:
    """bin/fakehubspot; seed is its seed line (URL and demo credentials)."""

    def __init__(self) -> None:
        self._process = subprocess.Popen(
            [str(REPO_ROOT / "bin/fakehubspot")],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )
        self._stdout = _Output(self._process, self._process.stdout)
        self._stderr = _Output(self._process, self._process.stderr)
        try:
            self.seed: dict[str, Any] = json.loads(self._stdout.line(lambda line: True))
        except BaseException:
            self.stop()
            raise

    def stop(self) -> int:
        code = _stop(self._process)
        self._stdout.join()
        self._stderr.join()
        return code


class ScopeGuard:
    """bin/scopeguard serve on free gRPC and HTTP ports, with an apps file
    naming the seed's demo app (its secret in the environment, as the apps
    file recommends). address is the gRPC address, http_url the HTTP port's."""

    def __init__(self, hubspot_url: str, seed: dict[str, Any]) -> None:
        self._dir = tempfile.TemporaryDirectory(prefix="scopeguard-python-test-")
        apps_file = pathlib.Path(self._dir.name) / "apps.yaml"
        # JSON is YAML.
        apps_file.write_text(json.dumps({
            "apps": {APP_NAME: {"client_id": seed["client_id"], "client_secret_env": "SCOPEGUARD_TEST_CLIENT_SECRET"}},
        }))
        self._process = subprocess.Popen(
            [
                str(REPO_ROOT / "bin/scopeguard"), "serve",
                "--listen", "127.0.0.1:0",
                "--http-listen", "127.0.0.1:0",
                "--log-format", "json",
                "--hubspot-api-url", hubspot_url,
                "--apps-file", str(apps_file),
            ],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
            env={**os.environ, "SCOPEGUARD_TEST_CLIENT_SECRET": seed["client_secret"]},
        )
        self._log = _Output(self._process, self._process.stderr)
        try:
            # "serving http" comes first, so both addresses are known by then.
            http = _log_record(self._log.line(lambda line: (_log_record(line) or {}).get("msg") == "serving http"))
            grpc = _log_record(self._log.line(lambda line: (_log_record(line) or {}).get("msg") == "serving"))
        except BaseException:
            self.stop()
            raise
        self.http_url = f"http://{http['addr']}"
        self.address: str = grpc["addr"]

    def log(self) -> str:
        """Everything the server logged so far."""
        return self._log.text()

    def stop(self) -> int:
        """Stops the server (SIGTERM) and returns its exit code."""
        try:
            code = _stop(self._process)
            self._log.join()
            return code
        finally:
            self._dir.cleanup()


def unreachable_url() -> str:
    """A loopback URL where nothing listens: a HubSpot that is down."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"
