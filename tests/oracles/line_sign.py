"""Signs a LINE webhook body and checks it with LINE's own SDK (line-bot-sdk), so the
tests do not only check our signature code against itself.

usage: line_sign.py CHANNEL_SECRET < BODY
prints the x-line-signature value on the first line, after the SDK's SignatureValidator
accepted it and its WebhookParser parsed the body with it; then, on the second line, the
parsed events as JSON ([{"type", "webhookEventId", "userId"}]) for the test to compare.
"""
import base64
import hashlib
import hmac
import json
import sys

from linebot.v3.webhook import SignatureValidator, WebhookParser


def main() -> int:
    secret = sys.argv[1]
    body = sys.stdin.buffer.read().decode("utf-8")
    signature = base64.b64encode(
        hmac.new(secret.encode("utf-8"), body.encode("utf-8"), hashlib.sha256).digest()
    ).decode("ascii")
    if not SignatureValidator(secret).validate(body, signature):
        print("the SDK does not validate the signature", file=sys.stderr)
        return 1
    if SignatureValidator(secret + "x").validate(body, signature):
        print("the SDK validates under another secret", file=sys.stderr)
        return 1
    events = WebhookParser(secret).parse(body, signature)
    summary = [
        {
            "type": e.type,
            "webhookEventId": e.webhook_event_id,
            "userId": getattr(e.source, "user_id", None),
        }
        for e in events
    ]
    print(signature)
    print(json.dumps(summary))
    return 0


if __name__ == "__main__":
    sys.exit(main())
