"""Independent oracle for keyward's address module, built on Python's standard `ipaddress`.

Reads one JSON object on stdin and writes one on stdout:

    in:  {"parse":  [text, ...],
          "cidr":   [entry, ...],
          "member": [[[entry, ...], address], ...]}
    out: {"parse":  [canonical text or null, ...],
          "cidr":   [canonical entry or null, ...],
          "member": [bool, ...]}

Nothing here comes from keyward's code: only keyward's documented policy is restated, where it
differs from Python's defaults:

- zone ids (`fe80::1%eth0`) are refused (Python 3.9+ accepts them);
- an IPv4-mapped address (::ffff:0:0/96, RFC 4291 §2.5.5.2) is its IPv4 address (`.ipv4_mapped`);
- a CIDR prefix is decimal without sign or leading zeros (Python also takes `/08` and netmasks),
  and a mapped CIDR needs a prefix of at least 96 and becomes the IPv4 CIDR of prefix - 96;
- membership: an IPv4 network holds an address whose IPv4 form (native or mapped) is inside it;
  an IPv6 network holds a native IPv6 address inside it, and holds an IPv4 address when that
  address's mapped form ::ffff:a.b.c.d is inside it. So ::/0 (and any range over
  ::ffff:0:0/96) admits every IPv4 address, while 0.0.0.0/0 admits no native IPv6 address:
  the same client seen through a dual-stack socket gets the same answer.
"""
import ipaddress
import json
import re
import sys

PREFIX = re.compile(r"(0|[1-9][0-9]{0,2})", re.ASCII)


def address(text):
    """The ipaddress object for text, mapped addresses made IPv4, or None."""
    if "%" in text:
        return None
    try:
        a = ipaddress.ip_address(text)
    except ValueError:
        return None
    if a.version == 6 and a.ipv4_mapped is not None:
        return a.ipv4_mapped
    return a


def canonical_address(text):
    a = address(text)
    return None if a is None else a.compressed


def network(entry):
    """The (network, was_mapped) for an allowlist entry under keyward's rules, or None."""
    addr_text, slash, prefix_text = entry.partition("/")
    if "%" in addr_text:
        return None
    try:
        a = ipaddress.ip_address(addr_text)
    except ValueError:
        return None
    if slash:
        if not PREFIX.fullmatch(prefix_text):
            return None
        p = int(prefix_text)
    else:
        p = a.max_prefixlen
    if p > a.max_prefixlen:
        return None
    try:
        if a.version == 6 and a.ipv4_mapped is not None:
            if p < 96:
                return None
            return ipaddress.IPv4Network((a.ipv4_mapped, p - 96), strict=True)
        return ipaddress.ip_network((a, p), strict=True)
    except ValueError:
        return None


def canonical_cidr(entry):
    n = network(entry)
    if n is None:
        return None
    if n.prefixlen == n.max_prefixlen:
        return n.network_address.compressed
    return "%s/%d" % (n.network_address.compressed, n.prefixlen)


def member(entries, addr_text):
    a = address(addr_text)
    if a is None:
        raise ValueError("oracle got an invalid address: %r" % addr_text)
    for e in entries:
        n = network(e)
        if n is None:
            raise ValueError("oracle got an invalid entry: %r" % e)
        if n.version == 4:
            if a.version == 4 and a in n:
                return True
        elif a.version == 6:
            if a in n:
                return True
        elif ipaddress.IPv6Address("::ffff:" + str(a)) in n:
            return True
    return False


def self_check():
    # Python before 3.9.5 read IPv4 octets with leading zeros (bpo-36384); such an oracle would
    # agree with a lenient parser. Refuse to answer rather than give a wrong verdict.
    try:
        ipaddress.ip_address("010.0.0.1")
    except ValueError:
        return
    sys.exit("ipaddress_oracle: this Python accepts leading zeros in IPv4; need Python >= 3.9.5")


def main():
    self_check()
    # Read bytes and decode UTF-8 ourselves: the locale's default may be ASCII.
    req = json.loads(sys.stdin.buffer.read().decode("utf-8"))
    out = {
        "parse": [canonical_address(t) for t in req.get("parse", [])],
        "cidr": [canonical_cidr(t) for t in req.get("cidr", [])],
        "member": [member(es, a) for es, a in req.get("member", [])],
    }
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
