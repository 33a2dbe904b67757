#!/usr/bin/env python3
"""Sends one card-shop order event to kefu-edge, signed with the webhook secret (stdlib only).

    python3 send_order_event.py https://<your-worker>/hooks/orders "$ORDER_WEBHOOK_SECRET" event.json

Prints kefu-edge's answer; exits non-zero unless it was 2xx. Retry on 5xx or a network error
with the same event (same "id"): kefu-edge stores each event id once.
"""
import hashlib
import hmac
import sys
import time
import urllib.error
import urllib.request


def send(url: str, secret: str, body: bytes) -> tuple[int, str]:
    timestamp = str(int(time.time()))
    signature = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    request = urllib.request.Request(url, data=body, method="POST", headers={
        "content-type": "application/json",
        "X-Kefu-Timestamp": timestamp,
        "X-Kefu-Signature": "sha256=" + signature,
    })
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


if __name__ == "__main__":
    url, secret = sys.argv[1], sys.argv[2]
    body = open(sys.argv[3], "rb").read() if len(sys.argv) > 3 else sys.stdin.buffer.read()
    status, answer = send(url, secret, body)
    print(answer)
    sys.exit(0 if 200 <= status < 300 else 1)
