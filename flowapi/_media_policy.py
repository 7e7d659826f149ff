"""Where media downloads may go (issue 11 §2: no SSRF through media URLs).

Media URLs come from the server (job records, callbacks), so a hostile or compromised
server could point them at the caller's own network: ``http://169.254.169.254/`` (cloud
metadata), ``https://10.0.0.5/admin``, or a public name that resolves to ``127.0.0.1``.
:class:`MediaPolicy` decides, and is enforced at two points:

* :meth:`MediaPolicy.check_url` — before each request *and each redirect hop*: ``https``
  only (``http`` only to a loopback host, and only when the session's own ``base_url`` is
  loopback — the FakeFlowServer); IP-literal hosts are checked here, because aiohttp does
  not resolve them;
* :class:`SafeResolver` — wraps the resolver aiohttp uses (``aiohttp.DefaultResolver``) on
  the connector that downloads media: every address a host name resolves to must be
  public (``ipaddress``'s ``is_global``: no loopback, private, link-local — which covers
  ``169.254.169.254`` — shared, reserved, multicast or unspecified ranges; IPv4-mapped IPv6
  is checked as IPv4). Checking the addresses actually connected to also defeats DNS
  rebinding.

Users with internal mirrors allow them explicitly: ``FlowSession(media_allowlist=[...])``
takes host names (``"media.corp.example"``) and networks (``"10.20.0.0/16"``).
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Iterable
from dataclasses import dataclass

from aiohttp import DefaultResolver
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from flowapi._errors import DownloadError
from flowapi._urls import is_loopback

__all__ = ["MediaPolicy", "RefusedAddressError", "SafeResolver", "shown_url"]

#: Host names made only of numbers (``2130706433``, ``127.1``, ``0x7f.0.0.1``).
_NUMERIC_HOST = re.compile(r"(?:0x[0-9a-f]*|[0-9]+)(?:\.(?:0x[0-9a-f]*|[0-9]+))*", re.I)

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


class RefusedAddressError(OSError):
    """A media host resolved only to addresses the :class:`MediaPolicy` refuses (an
    ``OSError`` so aiohttp's connector passes it through as the DNS failure's cause)."""


def shown_url(url: URL) -> str:
    """``url`` without its query string and fragment (signed URLs carry credentials)."""
    return str(url.with_query(None).with_fragment(None))


def _parse_ip(host: str) -> IPAddress | None:
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


@dataclass(frozen=True, slots=True)
class MediaPolicy:
    """Which media URLs and addresses downloads may reach.

    Attributes:
        allow_loopback: loopback hosts and addresses are allowed (and ``http://`` to them):
            ``True`` only when the session's own ``base_url`` is loopback (a fake on this
            machine serves the media too). Default ``False``.
        allow_hosts: host names allowed whatever they resolve to (lower case, no trailing
            dot), e.g. an internal mirror. Default none.
        allow_networks: address ranges allowed although not public, e.g. ``10.20.0.0/16``.
            Default none.
    """

    allow_loopback: bool = False
    allow_hosts: frozenset[str] = frozenset()
    allow_networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def build(cls, *, base_url: URL, allowlist: Iterable[str] = ()) -> MediaPolicy:
        """The policy of a session talking to ``base_url``, with ``allowlist`` entries
        (host names or CIDR networks; IP addresses count as one-address networks).

        Raises:
            ValueError: an allow-list entry that is empty.
        """
        hosts: set[str] = set()
        networks: list[IPNetwork] = []
        for entry in allowlist:
            text = entry.strip().strip("[]").rstrip(".").lower()
            if not text:
                raise ValueError("media_allowlist entries must be host names or networks")
            try:
                networks.append(ipaddress.ip_network(text, strict=False))
            except ValueError:
                hosts.add(text)
        return cls(allow_loopback=bool(base_url.host) and is_loopback(base_url.host or ""),
                   allow_hosts=frozenset(hosts), allow_networks=tuple(networks))

    def host_allowed(self, host: str) -> bool:
        """Whether ``host`` is on the allow-list by name."""
        return host.rstrip(".").lower() in self.allow_hosts

    def address_allowed(self, address: IPAddress) -> bool:
        """Whether a download may connect to ``address``."""
        if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
            address = address.ipv4_mapped
        if any(address in network for network in self.allow_networks):
            return True
        if address.is_loopback:
            return self.allow_loopback
        return address.is_global and not address.is_multicast

    def check_url(self, url: str | URL) -> URL:
        """Validate a media URL (the first one and every redirect hop).

        Returns:
            The parsed URL.

        Raises:
            DownloadError: not a valid URL, a scheme other than ``https`` (``http`` only to
                an allowed loopback host), no or an invalid host, or an IP-literal host
                the policy refuses. Not retryable.
        """
        try:
            u = URL(str(url))
            host = u.host
            shown = shown_url(u)
        except (ValueError, UnicodeError, TypeError):
            shown = str(url).split("?", 1)[0][:200]
            raise DownloadError(f"refusing to download from {shown!r}: not a valid URL",
                                url=shown) from None
        if not host or not _valid_host(host):
            raise DownloadError(f"refusing to download from {shown!r}: "
                                f"{'invalid host name' if host else 'no host'}", url=shown)
        loopback_host = is_loopback(host)
        if u.scheme == "http":
            if not (loopback_host and self.allow_loopback):
                raise DownloadError(
                    f"refusing to download from {shown!r}: only https:// media URLs are "
                    "accepted (http:// only to loopback while the session itself talks to a "
                    "loopback server)", url=shown)
        elif u.scheme != "https":
            raise DownloadError(f"refusing to download from {shown!r}: only https:// media "
                                "URLs are accepted", url=shown)
        address = _parse_ip(host)
        if address is None and _NUMERIC_HOST.fullmatch(host.rstrip(".")):
            # 2130706433, 127.1, 0x7f.0.0.1: resolvers read these as IPv4 addresses
            raise DownloadError(f"refusing to download from {shown!r}: a non-canonical IP "
                                "address", url=shown)
        if loopback_host and address is None and not self.allow_loopback \
                and not self.host_allowed(host):
            raise DownloadError(f"refusing to download from {shown!r}: a loopback host",
                                url=shown)
        if address is not None and not self.address_allowed(address):
            raise DownloadError(
                f"refusing to download from {shown!r}: {address} is a loopback, private, "
                "link-local or otherwise non-public address (add it to "
                "FlowSession(media_allowlist=...) if it is your own mirror)", url=shown)
        return u


def _valid_host(host: str) -> bool:
    """A DNS name with non-empty labels of letters, digits, ``-`` and ``_``, or an IP."""
    if _parse_ip(host) is not None:
        return True
    labels = host.rstrip(".").split(".")
    return all(0 < len(label) <= 63 and label.replace("-", "").replace("_", "").isalnum()
               and label.isascii() for label in labels)


class SafeResolver(AbstractResolver):
    """aiohttp's own resolver, minus the addresses a :class:`MediaPolicy` refuses.

    Args:
        policy: the policy to apply.
        inner: the resolver to wrap; default a new ``aiohttp.DefaultResolver()``.
    """

    def __init__(self, policy: MediaPolicy, inner: AbstractResolver | None = None) -> None:
        self.policy = policy
        self._inner = inner if inner is not None else DefaultResolver()

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        """Resolve ``host`` and keep only allowed addresses.

        Raises:
            RefusedAddressError: every address is refused.
            OSError: the lookup itself failed.
        """
        results = await self._inner.resolve(host, port, family)
        if self.policy.host_allowed(host):
            return results
        allowed = [r for r in results
                   if (a := _parse_ip(r["host"])) is not None and self.policy.address_allowed(a)]
        if not allowed:
            shown = sorted({r["host"] for r in results})[:4]
            raise RefusedAddressError(
                f"{host} resolves to {', '.join(shown)}: loopback, private, link-local or "
                "otherwise non-public addresses are refused for media downloads (add the "
                "host to FlowSession(media_allowlist=...) if it is your own mirror)")
        return allowed

    async def close(self) -> None:
        """Close the wrapped resolver."""
        await self._inner.close()
