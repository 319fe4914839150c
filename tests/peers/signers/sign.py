"""Signs webhook requests with the providers' own libraries (the tests never sign with the
receiver's code). Reads a JSON list of requests on stdin, writes a JSON list of header maps
on stdout, one per request, in order.

A request: {"scheme", "secret", "body", "id", "timestamp"} (timestamp in unix seconds).
- standard: PyPI `standardwebhooks` (the specification's reference library), Webhook.sign
- stripe:   PyPI `stripe`, WebhookSignature.generate_signature_header (its test helper)
- slack:    PyPI `slack_sdk`, SignatureVerifier.generate_signature
- shopify:  Shopify publishes no Python signing library: Python's own hmac and base64, as
            Shopify's documentation computes it (HMAC-SHA256 of the body, base64)
GitHub is signed by npm `@octokit/webhooks-methods` (sign.mjs).
"""

import base64
import hashlib
import hmac
import json
import sys
from datetime import datetime, timezone

from slack_sdk.signature import SignatureVerifier
from standardwebhooks.webhooks import Webhook
from stripe import WebhookSignature


def sign(req):
    scheme, secret, body = req["scheme"], req["secret"], req["body"]
    ts = int(req["timestamp"])
    if scheme == "standard":
        when = datetime.fromtimestamp(ts, tz=timezone.utc)
        signature = Webhook(secret).sign(req["id"], when, body)
        return {
            "webhook-id": req["id"],
            "webhook-timestamp": str(ts),
            "webhook-signature": signature,
        }
    if scheme == "stripe":
        header = WebhookSignature.generate_signature_header(body, secret, timestamp=ts)
        return {"Stripe-Signature": header}
    if scheme == "slack":
        signature = SignatureVerifier(secret).generate_signature(timestamp=str(ts), body=body)
        return {"X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": signature}
    if scheme == "shopify":
        digest = hmac.new(secret.encode(), body.encode(), hashlib.sha256).digest()
        return {
            "X-Shopify-Hmac-Sha256": base64.b64encode(digest).decode(),
            "X-Shopify-Webhook-Id": req["id"],
        }
    raise SystemExit(f"sign.py: no signer for scheme {scheme!r}")


def main():
    json.dump([sign(r) for r in json.load(sys.stdin)], sys.stdout)


if __name__ == "__main__":
    main()
