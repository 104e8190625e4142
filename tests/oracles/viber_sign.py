"""Signs a Viber callback body and checks it with Viber's own SDK (viberbot), so the tests
do not only check our signature code against itself.

usage: viber_sign.py AUTH_TOKEN < BODY
prints the X-Viber-Content-Signature value on the first line, after the SDK's
Api.verify_signature accepted it and Api.parse_request parsed the body; then, on the second
line, what the SDK parsed as JSON ({"event", "message_token", "user"}), the token as a
decimal string (Python keeps integers exact, so it shows what Viber meant).
"""
import hashlib
import hmac
import json
import sys

from viberbot import Api
from viberbot.api.bot_configuration import BotConfiguration


def main() -> int:
    token = sys.argv[1]
    raw = sys.stdin.buffer.read()
    signature = hmac.new(token.encode("ascii"), raw, hashlib.sha256).hexdigest()
    api = Api(BotConfiguration(name="Support", avatar=None, auth_token=token))
    if not api.verify_signature(raw, signature):
        print("the SDK does not validate the signature", file=sys.stderr)
        return 1
    request = api.parse_request(raw)
    user = None
    if hasattr(request, "sender"):
        user = request.sender.id
    elif hasattr(request, "user"):
        user = request.user.id
    elif hasattr(request, "user_id"):
        user = request.user_id
    message_token = getattr(request, "message_token", None)
    print(signature)
    print(
        json.dumps(
            {
                "event": request.event_type,
                "message_token": None if message_token is None else str(message_token),
                "user": user,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
