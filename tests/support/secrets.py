"""The fake credentials tests use, distinctive so that a leak is found wherever it goes,
and the ways a server may echo one."""

from __future__ import annotations

import base64
import html.entities
import json
import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

TOKEN = "kt_live_7Qz9XbV2mN4pL8sR3tW6yA1c"
"""A distinctive fake Karmo token: tests assert it appears nowhere it must not."""

WORKOS_KEY = "sk_test_wk/9fQ2+Lm7Xp4Zr8Tn6Vb"
"""A distinctive fake WorkOS API key ("/" and "+": characters servers escape)."""

AWS_KEY_ID = "FAKEKARMOACCESSKEY01"
AWS_SECRET = "fake/karmo+secret/for/tests/only/0123456789"


def aws_env(tmp_path: Path) -> dict[str, str]:
    """Fake static AWS credentials and a region, with no file or metadata service to
    fall back on."""
    missing = str(tmp_path / "no-such-file")
    return {
        "AWS_ACCESS_KEY_ID": AWS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": AWS_SECRET,
        "AWS_REGION": "eu-west-1",
        "AWS_CONFIG_FILE": missing,
        "AWS_SHARED_CREDENTIALS_FILE": missing,
        "AWS_EC2_METADATA_DISABLED": "true",
    }


def json_escaped(text: str) -> str:
    """As a JSON encoder that escapes "/" (PHP's, Java's) writes it, quotes removed."""
    return json.dumps(text)[1:-1].replace("/", "\\/")


ENCODINGS: dict[str, Callable[[str], str]] = {  # name: how a server writes a secret
    "literal": lambda s: s,
    "json-slash": json_escaped,
    "json-unicode": lambda s: "".join(f"\\u{ord(c):04x}" for c in s),
    "json-unicode-upper": lambda s: "".join(f"\\u{ord(c):04X}" for c in s),
    "percent": lambda s: quote(s, safe=""),
    "percent-lower": lambda s: re.sub("%[0-9A-F]{2}", lambda m: m.group().lower(), quote(s, "")),
    "percent-every-byte": lambda s: "".join(f"%{b:02X}" for b in s.encode()),
    "html-decimal": lambda s: "".join(f"&#{ord(c)};" for c in s),
    "html-hex": lambda s: "".join(f"&#x{ord(c):x};" for c in s),
    "mixed": lambda s: "".join(
        (f"%{ord(c):02x}", f"\\u{ord(c):04x}", c)[i % 3] for i, c in enumerate(s)
    ),
    "upper": str.upper,
    "lower": str.lower,
    "hex": lambda s: s.encode().hex(),
    "hex-upper": lambda s: s.encode().hex().upper(),
    "html-named": lambda s: named_references(s, first=True),  # sk&UnderBar;test&sol;...
    "html-named-other": lambda s: named_references(s, first=False),  # sk&lowbar;test...
    "base64": lambda s: base64.b64encode(s.encode()).decode(),
    "base64-bearer": lambda s: base64.b64encode(f"Bearer {s}".encode()).decode(),
    "base64-basic": lambda s: base64.b64encode(f"{s}:".encode()).decode(),  # HTTP Basic
    "base64url-in-a-blob": lambda s: base64.urlsafe_b64encode(f'{{"k":"{s}"}}'.encode()).decode(),
}


def named_references(text: str, *, first: bool) -> str:
    """``text`` with each character that has an HTML named reference written as one (the
    first or the last of its names in alphabetical order)."""
    names: dict[str, list[str]] = {}
    for name, value in sorted(html.entities.html5.items()):
        if name.endswith(";"):
            names.setdefault(value, []).append(name)
    return "".join(f"&{names[c][0 if first else -1]}" if c in names else c for c in text)
