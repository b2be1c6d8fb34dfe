"""An S3 API on 127.0.0.1 (moto's server, in a process of its own) for Pulumi's ``s3://``
state backend, and the environment and login URL the CLI needs to use it."""

from __future__ import annotations

import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from pathlib import Path

from tests.support.secrets import aws_env


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class S3Server:
    """``python -m moto.server`` on a free port of 127.0.0.1, as a context manager."""

    def __init__(self, log: Path) -> None:
        self.port = _free_port()
        self.log = log
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> S3Server:
        with self.log.open("wb") as out:
            self._process = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(self.port)],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(self.endpoint, timeout=2).close()
                return self
            except (urllib.error.URLError, OSError):
                if self._process.poll() is None and time.monotonic() < deadline:
                    time.sleep(0.2)
                    continue
            self.__exit__()
            raise RuntimeError(f"moto's S3 server did not start:\n{self.log.read_text()}")

    def __exit__(self, *exc: object) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=30)

    def new_bucket(self) -> str:
        """Create an empty bucket (moto does not check signatures) and return its name."""
        name = f"state-{uuid.uuid4().hex[:12]}"
        request = urllib.request.Request(f"{self.endpoint}/{name}", method="PUT")
        urllib.request.urlopen(request, timeout=30).close()
        return name

    def login_url(self, bucket: str) -> str:
        """The ``PULUMI_BACKEND_URL`` of ``bucket`` on this server."""
        return (
            f"s3://{bucket}?endpoint=127.0.0.1:{self.port}"
            "&s3ForcePathStyle=true&disableSSL=true&region=us-east-1"
        )

    def environment(self, bucket: str, tmp_path: Path) -> dict[str, str]:
        """What the CLI needs on top of its usual environment: the backend, the tests'
        fake keys, and nothing to fall back on (no AWS config files, no metadata
        service)."""
        return {
            **aws_env(tmp_path),
            "PULUMI_BACKEND_URL": self.login_url(bucket),
            "AWS_REGION": "us-east-1",  # the bucket's, as login_url names it
            # The SDK's default checksum validation warns on every read of moto's answers.
            "AWS_RESPONSE_CHECKSUM_VALIDATION": "when_required",
        }
