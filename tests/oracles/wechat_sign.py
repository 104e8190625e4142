"""Signs and encrypts WeChat Official Account callbacks with wechatpy (PyPI), so the
tests do not only check our signature and AES code against itself.

usage:
  wechat_sign.py plain TOKEN TIMESTAMP NONCE
      prints the plain-mode `signature` (wechatpy.utils.WeChatSigner), after checking it
      with wechatpy.utils.check_signature.
  wechat_sign.py encrypt TOKEN ENCODING_AES_KEY APP_ID TIMESTAMP NONCE < message.xml
      prints JSON {"body", "msg_signature", "signature"}: the safe-mode POST body made by
      WeChatCrypto(token, key, app_id).encrypt_message(xml, nonce, timestamp), its
      msg_signature, and the plain signature WeChat also puts in the query; the SDK
      decrypts the body again before printing.
"""
import json
import sys

import xmltodict
from wechatpy.crypto import WeChatCrypto
from wechatpy.utils import WeChatSigner, check_signature


def plain(token: str, timestamp: str, nonce: str) -> str:
    signer = WeChatSigner()
    signer.add_data(token, timestamp, nonce)
    signature = signer.signature
    check_signature(token, signature, timestamp, nonce)  # raises if it does not check
    return signature


def main() -> int:
    mode = sys.argv[1]
    if mode == "plain":
        print(plain(*sys.argv[2:5]))
        return 0
    if mode == "encrypt":
        token, key, app_id, timestamp, nonce = sys.argv[2:7]
        xml = sys.stdin.read()
        crypto = WeChatCrypto(token, key, app_id)
        body = crypto.encrypt_message(xml, nonce, timestamp)
        msg_signature = xmltodict.parse(body)["xml"]["MsgSignature"]
        if crypto.decrypt_message(body, msg_signature, timestamp, nonce) != xml:
            print("the SDK does not decrypt its own message", file=sys.stderr)
            return 1
        print(json.dumps({
            "body": body,
            "msg_signature": msg_signature,
            "signature": plain(token, timestamp, nonce),
        }))
        return 0
    print(f"unknown mode {mode}", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
