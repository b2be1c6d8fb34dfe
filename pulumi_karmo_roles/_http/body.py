"""Answer bodies bounded after decoding: a compressed answer is inflated only up to
:data:`MAX_BODY_BYTES`, on every path that reads one (httpx reads some itself)."""

from __future__ import annotations

import zlib
from collections.abc import Iterator

import httpx

MAX_BODY_BYTES = 1 << 20
"""Largest response body read, after decoding; a bigger one is cut there (it is never a
valid answer). The bytes on the wire are bounded the same way."""

ACCEPT_ENCODING = "gzip, deflate"
"""The content codings :class:`BoundedBody` decodes, and so the only ones requested."""


def bound_answer(response: httpx.Response) -> None:
    """A response hook, run for every answer the client receives (a mint's and a 401's
    too, which httpx reads itself): its body becomes a :class:`BoundedBody`, and httpx
    no longer decodes it (the header that would make it is taken off)."""
    codings = response.headers.get_list("Content-Encoding", split_commas=True)
    if codings:
        del response.headers["Content-Encoding"]
    assert isinstance(response.stream, httpx.SyncByteStream)
    response.stream = BoundedBody(response.stream, codings)


class _Inflater:
    """One gzip or deflate layer, inflating no more than it is asked for."""

    def __init__(self, coding: str) -> None:
        # deflate: zlib-wrapped, as the standard says, or raw, as some servers send it.
        self._raw_fallback = coding == "deflate"
        self._inflater = zlib.decompressobj(16 + zlib.MAX_WBITS if "gzip" in coding else 15)
        self._started = False

    def inflate(self, data: bytes, limit: int) -> bytes:
        data = self._inflater.unconsumed_tail + data
        try:
            out = self._inflater.decompress(data, limit)
        except zlib.error:
            if not (self._raw_fallback and not self._started):
                raise
            self._raw_fallback = False
            self._inflater = zlib.decompressobj(-zlib.MAX_WBITS)
            out = self._inflater.decompress(data, limit)
        self._started = True
        return out


class BoundedBody(httpx.SyncByteStream):
    """A response body that yields at most :data:`MAX_BODY_BYTES` after decoding its
    ``Content-Encoding`` (gzip, deflate, identity, in any number of layers) and reads at
    most that many bytes from the wire: a compression bomb is inflated only up to the
    bound. A body in any other coding, or one that does not decode, ends where it
    breaks (it is never a valid answer, and its status still classifies it)."""

    def __init__(self, stream: httpx.SyncByteStream, codings: list[str]) -> None:
        self._stream = stream
        codings = [c.strip().lower() for c in codings if c.strip().lower() != "identity"]
        self._layers: list[_Inflater] | None = []
        for coding in reversed(codings):  # the last coding applied is undone first
            if coding not in ("gzip", "x-gzip", "deflate"):
                self._layers = None
                break
            self._layers.append(_Inflater(coding))

    def __iter__(self) -> Iterator[bytes]:
        if self._layers is None:
            return
        read = given = 0
        for chunk in self._stream:
            read += len(chunk)
            data = chunk[: MAX_BODY_BYTES - (read - len(chunk))]
            try:
                for layer in self._layers:
                    data = layer.inflate(data, MAX_BODY_BYTES - given + 1)
            except zlib.error:
                return
            data = data[: MAX_BODY_BYTES - given]
            given += len(data)
            if data:
                yield data
            if given >= MAX_BODY_BYTES or read >= MAX_BODY_BYTES:
                return

    def close(self) -> None:
        self._stream.close()
