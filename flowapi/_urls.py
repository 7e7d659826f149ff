"""URL safety rules: which base and media URLs flowapi will talk to (DESIGN §2, issue 4 §7)."""

from __future__ import annotations

import ipaddress

from yarl import URL

__all__ = ["check_base_url", "is_loopback"]


def is_loopback(host: str) -> bool:
    """Whether ``host`` is ``localhost`` (any case, optional trailing dot) or a loopback IP
    literal (127.0.0.0/8, ``::1``, IPv4-mapped ``::ffff:127.x``; brackets allowed).

    The ONE loopback check of flowapi (base URLs, media downloads, the webhook receiver's
    bind address). It looks at the name only; :mod:`flowapi._safe_resolver` checks what a
    media host resolves to."""
    name = host.strip("[]").rstrip(".").lower()
    if name == "localhost":
        return True
    try:
        address = ipaddress.ip_address(name)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped.is_loopback
    return address.is_loopback


def check_base_url(base_url: str | URL) -> URL:
    """Validate an API base URL: ``https://``, or ``http://`` only to a loopback host.

    Returns the URL with a trailing ``/``.

    Raises:
        ValueError: another scheme, a non-loopback ``http://`` host, or a query/fragment.
    """
    url = URL(str(base_url))
    if url.scheme not in ("https", "http") or not url.host:
        raise ValueError(f"base_url must be an https:// URL, got {str(url)!r}")
    if url.scheme == "http" and not is_loopback(url.host):
        raise ValueError(f"refusing plain http:// to {url.host!r}: the token would travel "
                         "unencrypted; use https:// (http:// is allowed only for loopback, "
                         "e.g. the FakeFlowServer)")
    if url.query_string or url.fragment:
        raise ValueError("base_url must not have a query or fragment")
    if not url.path.endswith("/"):
        url = url.with_path(url.path + "/")
    return url
