"""Builds an HS256 JWT (RFC 7519) with the Python standard library only, independently of jose.

Reads one JSON object on stdin: {"secret_hex": "...", "header": {...}, "payload": {...}}
and prints the compact token (RFC 7515 §7.1) on stdout.
"""
import base64
import hashlib
import hmac
import json
import sys


def b64url(data: bytes) -> str:
    # RFC 7515 §2: base64url without padding.
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def main() -> None:
    spec = json.load(sys.stdin)
    secret = bytes.fromhex(spec["secret_hex"])
    header = b64url(json.dumps(spec["header"], separators=(",", ":")).encode("utf-8"))
    payload = b64url(json.dumps(spec["payload"], separators=(",", ":")).encode("utf-8"))
    signing_input = f"{header}.{payload}".encode("ascii")
    signature = hmac.new(secret, signing_input, hashlib.sha256).digest()
    sys.stdout.write(f"{header}.{payload}.{b64url(signature)}")


if __name__ == "__main__":
    main()
