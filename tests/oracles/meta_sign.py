"""Checks a Meta webhook signature (Messenger, Instagram, WhatsApp: all use
X-Hub-Signature-256) with pywa's validator, so the tests do not only check our signature
code against itself. pywa has no signing function: the test signs, pywa judges.

usage: meta_sign.py APP_SECRET X_HUB_SIGNATURE_256 < BODY
prints "valid" or "invalid" as pywa.utils.webhook_updates_validator decides over the raw
body bytes; exits non-zero only on misuse.
"""
import sys

from pywa.utils import webhook_updates_validator


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__, file=sys.stderr)
        return 2
    secret, header = sys.argv[1], sys.argv[2]
    body = sys.stdin.buffer.read()
    print("valid" if webhook_updates_validator(secret, body, header) else "invalid")
    return 0


if __name__ == "__main__":
    sys.exit(main())
