"""``karmo-sandbox`` (or ``python -m pulumi_karmo_roles.sandbox``): run the Karmo sandbox on
127.0.0.1 (and, with ``--workos-api-key``, its WorkOS face at the root of the same address)."""

from __future__ import annotations

import argparse
import ssl
import sys

from .._rules import ACCESS_PROVIDERS, DEFAULT_ACCESS_PROVIDER
from ._faults import Faults
from ._server import SandboxServer

PROG = "karmo-sandbox"
"""The name ``--help`` shows when started as the installed command."""

MODULE_PROG = "python -m pulumi_karmo_roles.sandbox"
"""The name ``--help`` shows when started as a module."""


def build_parser(prog: str = PROG) -> argparse.ArgumentParser:
    """The command line: one option per setting of :class:`SandboxServer`, and one per
    field of :class:`Faults` (named as ``POST /_sandbox/faults`` names them)."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description="A local, in-memory stand-in for Karmo's organization-role API, and "
        "for WorkOS's view of the same roles.",
    )
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8787, help="port (0 picks a free one)")
    parser.add_argument("--token", default="", help="the bearer token to accept")
    parser.add_argument(
        "--mint-tokens",
        type=int,
        metavar="SECONDS",
        help="require service tokens from POST /auth/token (SigV4-signed), valid this long",
    )
    parser.add_argument(
        "--prefix",
        default="",
        metavar="PATH",
        help="path prefix of Karmo's API, e.g. /auth-api; other paths answer 404 "
        "(WorkOS's face stays at the root)",
    )
    parser.add_argument(
        "--access-provider",
        choices=ACCESS_PROVIDERS,
        default=DEFAULT_ACCESS_PROVIDER,
        help="whose limits upserts follow besides Karmo's (default: workos)",
    )
    parser.add_argument(
        "--workos-api-key",
        metavar="KEY",
        help="serve WorkOS's role API at /authorization/..., accepting this API key",
    )
    parser.add_argument(
        "--organization",
        action="append",
        dest="organizations",
        metavar="ID",
        help="an organization that exists (repeat it); without it, every organization exists",
    )
    parser.add_argument("--tls-cert", metavar="FILE", help="serve HTTPS with this PEM certificate")
    parser.add_argument("--tls-key", metavar="FILE", help="the certificate's PEM private key")
    faults = parser.add_argument_group(
        "faults",
        "Also set at run time: POST /_sandbox/faults with these names, e.g. "
        '{"latency-ms": 200, "seed": 7}.',
    )
    faults.add_argument(
        "--latency-ms", type=float, default=0.0, metavar="MS", help="delay before each answer"
    )
    faults.add_argument(
        "--rate-limit-share", type=float, default=0.0, metavar="SHARE", help="share of 429s (0..1)"
    )
    faults.add_argument(
        "--retry-after", default="1", metavar="SECONDS", help="Retry-After of those 429s"
    )
    faults.add_argument(
        "--rate-limit-rps",
        type=float,
        default=0.0,
        metavar="RPS",
        help="at most this many requests a second",
    )
    faults.add_argument(
        "--error-share",
        type=float,
        default=0.0,
        metavar="SHARE",
        help="share of 5xx with a proxy's HTML page (0..1)",
    )
    faults.add_argument(
        "--error-status", type=int, default=502, metavar="STATUS", help="status of those 5xx"
    )
    faults.add_argument(
        "--not-configured",
        action="store_true",
        help="answer 503 with a Karmo body: access provider not configured",
    )
    faults.add_argument(
        "--lost-answer-share",
        type=float,
        default=0.0,
        metavar="SHARE",
        help="share of upserts applied but answered 502 (0..1)",
    )
    faults.add_argument(
        "--answer-delay-ms",
        type=float,
        default=0.0,
        metavar="MS",
        help="delay between applying an upsert and answering it",
    )
    faults.add_argument(
        "--face",
        choices=("karmo", "workos"),
        help="apply the faults to this face only (default: both)",
    )
    faults.add_argument("--seed", type=int, metavar="N", help="seed the fault dice")
    return parser


def main(argv: list[str] | None = None, prog: str = PROG) -> int:
    """Parse the command line and serve until interrupted."""
    parser = build_parser(prog)
    args = parser.parse_args(argv)
    if not args.token and args.mint_tokens is None:
        parser.error("give --token, or --mint-tokens for service-token mode")

    faults = Faults(
        latency_ms=args.latency_ms,
        rate_limit_share=args.rate_limit_share,
        retry_after=args.retry_after,
        error_share=args.error_share,
        error_status=args.error_status,
        not_configured=args.not_configured,
        lost_answer_share=args.lost_answer_share,
        answer_delay_ms=args.answer_delay_ms,
        rate_limit_rps=args.rate_limit_rps,
        face=args.face,
    )
    tls = None
    if args.tls_cert:
        tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.load_cert_chain(args.tls_cert, args.tls_key)
    server = SandboxServer(
        args.token,
        host=args.host,
        port=args.port,
        prefix=args.prefix,
        organizations=args.organizations,
        faults=faults,
        seed=args.seed,
        tls=tls,
        token_lifetime=args.mint_tokens,
        access_provider=args.access_provider,
        workos_api_key=args.workos_api_key,
    )
    # The first line is machine-readable: harnesses wait for it.
    print(f"karmo sandbox listening on {server.url}", flush=True)
    if args.workos_api_key:
        print(f"workos face at {server.workos_url}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main(prog=MODULE_PROG))
