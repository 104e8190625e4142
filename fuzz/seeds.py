#!/usr/bin/env python3
"""Writes the committed seed corpus, fuzz/corpus/<target>/<name>: a few small, valid inputs
per target in each target's framing (fuzz/src/lib.rs, fuzz/fuzz_targets/api_json.rs),
taken from the channel tests, the Lambda fixtures and config/dev.toml.

Run it after changing a framing: `python3 fuzz/seeds.py`. It replaces only the files it
names; the corpus the fuzzer grows lives in a temporary copy (scripts/fuzz.sh), never here.
"""

import json
import os
import pathlib

ROOT = pathlib.Path(__file__).resolve().parent
CORPUS = ROOT / "corpus"

POST, GET = 0, 1
SIGNED = 4


def webhook(ctl, variant=0, headers="", query="", body=""):
    """[ctl][variant] headers \\0 query \\0 body"""
    if isinstance(body, str):
        body = body.encode()
    return bytes([ctl, variant]) + headers.encode() + b"\0" + query.encode() + b"\0" + body


def write(target, name, data):
    d = CORPUS / target
    d.mkdir(parents=True, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    (d / name).write_bytes(data)


def j(v):
    return json.dumps(v, ensure_ascii=False, separators=(",", ":"))


# --- Telegram --------------------------------------------------------------------------
TG_MESSAGE = {
    "update_id": 1,
    "message": {
        "message_id": 1,
        "date": 1764072000,
        "chat": {"id": 1111111, "type": "private"},
        "from": {"id": 1111111, "is_bot": False, "first_name": "Carlos", "last_name": "Mendoza"},
        "text": "My order #123 never arrived",
    },
}
write("webhook_telegram", "message", webhook(POST | SIGNED, body=j(TG_MESSAGE)))
write("webhook_telegram", "caption", webhook(POST | SIGNED, body=j(
    {"update_id": 2, "message": {"message_id": 2, "date": 1764072001, "chat": {"id": 5, "type": "private"},
                                 "caption": "photo of the parcel"}})))
write("webhook_telegram", "kicked", webhook(POST | SIGNED, body=j(
    {"update_id": 3, "my_chat_member": {"chat": {"id": 1111111, "type": "private"}, "date": 1764072002,
                                        "new_chat_member": {"status": "kicked"}}})))
write("webhook_telegram", "group", webhook(POST | SIGNED, body=j(
    {"update_id": 4, "message": {"message_id": 3, "date": 1, "chat": {"id": -100, "type": "group"}, "text": "hi"}})))
write("webhook_telegram", "wrong-secret", webhook(
    POST, headers="X-Telegram-Bot-Api-Secret-Token: nope\n", body=j(TG_MESSAGE)))

# --- Website chat -----------------------------------------------------------------------
write("webhook_webchat", "full", webhook(POST | SIGNED, body=j(
    {"visitor_id": "v-ana", "message_id": "w1", "text": "Hola, where is my parcel?", "name": "Ana María López",
     "email": "Ana.Lopez@Example.com", "phone": "+61 412 345 678", "timestamp": "2026-11-25T11:59:00Z"})))
write("webhook_webchat", "minimal", webhook(POST | SIGNED, 1, body=j(
    {"visitor_id": "v1", "message_id": "m", "text": "hi"})))
write("webhook_webchat", "bad-fields", webhook(POST | SIGNED, body=j(
    {"visitor_id": "", "message_id": " ", "text": " ", "timestamp": "yesterday", "phone": "0412"})))
write("webhook_webchat", "unsigned", webhook(
    POST, headers="x-replyline-signature: sha256=00\n", body=j({"visitor_id": "v1", "message_id": "m", "text": "hi"})))

# --- Twilio -----------------------------------------------------------------------------
SMS = "MessageSid=SM0001&AccountSid=AC123&From=%2B14155550100&To=%2B15005550006&Body=Hello+from+Lambda&NumMedia=0"
write("webhook_twilio", "message", webhook(POST | SIGNED, body=SMS))
write("webhook_twilio", "stop", webhook(POST | SIGNED, query="a=1", body=SMS.replace("Hello+from+Lambda", "stop+")))
write("webhook_twilio", "media", webhook(POST | SIGNED, body="MessageSid=SM2&From=%2B447700900123&Body=&NumMedia=2"))
write("webhook_twilio", "status", webhook(POST | SIGNED, body="MessageStatus=delivered&SmsSid=SM1"))
write("webhook_twilio", "json-port", webhook(
    POST | SIGNED, 1, headers="x-fuzz-url: https://hooks.example.test:443/webhooks/sms?x=1\n",
    body=j({"MessageSid": "SM3", "From": "+14155550100"})))

# --- LINE -------------------------------------------------------------------------------
def line_event(kind, extra):
    e = {"type": kind, "mode": "active", "timestamp": 1764072000000, "webhookEventId": "01H" + kind.upper(),
         "deliveryContext": {"isRedelivery": False},
         "source": {"type": "user", "userId": "U4af4980629f0e2c9d0c3a8c4a0b1c2d3"}}
    e.update(extra)
    return e


write("webhook_line", "message", webhook(POST | SIGNED, body=j({"destination": "Uxxx", "events": [
    line_event("message", {"replyToken": "r", "message": {"type": "text", "id": "1", "text": "こんにちは"}})]})))
write("webhook_line", "follow-unfollow-sticker", webhook(POST | SIGNED, body=j({"destination": "Uxxx", "events": [
    line_event("follow", {}), line_event("unfollow", {}),
    line_event("message", {"message": {"type": "sticker", "id": "2"}}),
    dict(line_event("message", {"message": {"type": "text", "text": "hi"}}), source={"type": "group", "groupId": "G"})]})))
write("webhook_line", "verify", webhook(POST | SIGNED, body=j({"destination": "Uxxx", "events": []})))

# --- Meta: Messenger (variant 0), Instagram (1), WhatsApp (2) -----------------------------
MESSENGER = {"object": "page", "entry": [{"id": "p1", "time": 1764072000000, "messaging": [
    {"sender": {"id": "PSID1"}, "recipient": {"id": "p1"}, "timestamp": 1764072000000,
     "message": {"mid": "m.1", "text": "Is the blue one in stock?"}},
    {"sender": {"id": "PSID1"}, "timestamp": 1764072000001,
     "postback": {"mid": "m.2", "title": "Get started", "referral": {"source": "ADS"}}},
    {"sender": {"id": "PSID1"}, "timestamp": 1764072000002, "reaction": {"mid": "m.1", "action": "react"}},
    {"sender": {"id": "PSID1"}, "timestamp": 1764072000003, "message": {"mid": "m.3", "attachments": [{"type": "image"}]}},
    {"sender": {"id": "PAGE"}, "timestamp": 1764072000004, "message": {"mid": "m.4", "is_echo": True, "text": "x"}}]}]}
write("webhook_meta", "messenger", webhook(POST | SIGNED, 0, body=j(MESSENGER)))
write("webhook_meta", "instagram", webhook(POST | SIGNED, 1, body=j({"object": "instagram", "entry": [
    {"id": "178", "time": 1569262486134, "messaging": [
        {"sender": {"id": "IGSID1"}, "timestamp": 1569262485349, "message": {"mid": "aWdf", "text": "hola",
                                                                              "referral": {"source": "ADS"}}}],
     "changes": [{"field": "comments", "value": {}}]}]})))
write("webhook_meta", "whatsapp", webhook(POST | SIGNED, 2, body=j({"object": "whatsapp_business_account", "entry": [
    {"id": "264937493375603", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp", "contacts": [{"profile": {"name": "PyWa Tests"}, "wa_id": "972544401243"}],
        "messages": [{"from": "972544401243", "id": "wamid.1", "timestamp": "1730231903", "type": "text",
                      "text": {"body": "Hey there! I am using PyWa."}},
                     {"from": "972544401243", "id": "wamid.2", "timestamp": "1730231904", "type": "interactive",
                      "interactive": {"button_reply": {"title": "Yes"}}}],
        "statuses": [{"id": "wamid.out1", "status": "failed", "errors": [
            {"code": 131047, "title": "Re-engagement message", "error_data": {"details": "24h"}}]}]}}]}]})))
write("webhook_meta", "handshake", webhook(
    GET | SIGNED, 0, query="hub.mode=subscribe&hub.challenge=1158201444"))

# --- Viber ------------------------------------------------------------------------------
write("webhook_viber", "message", webhook(POST | SIGNED, body=j(
    {"event": "message", "timestamp": 1764072000000, "message_token": 4912661846655238145,
     "sender": {"id": "01234567890A=", "name": "Vik", "language": "en", "api_version": 10},
     "message": {"type": "text", "text": "a message"}})))
write("webhook_viber", "subscriptions", webhook(POST | SIGNED, body=j(
    {"event": "unsubscribed", "timestamp": 1764072000000, "user_id": "01234567890A=", "message_token": 1})))
write("webhook_viber", "subscribed", webhook(POST | SIGNED, body=j(
    {"event": "subscribed", "timestamp": 1, "user": {"id": "01234567890A=", "name": "Vik"}})))
write("webhook_viber", "webhook", webhook(POST | SIGNED, body=j(
    {"event": "webhook", "timestamp": 4977069964384421269, "message_token": 1478683725125})))
write("webhook_viber", "picture", webhook(POST | SIGNED, body=j(
    {"event": "message", "timestamp": 1, "message_token": 2, "sender": {"id": "u"},
     "message": {"type": "picture", "media": "https://x/y.jpg"}})))

# --- WeChat -----------------------------------------------------------------------------
def wx_message(msg_type, inner, msg_id="1234567890123456"):
    return ("<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[oWx-user-1]]></FromUserName>"
            f"<CreateTime>1764072000</CreateTime><MsgType><![CDATA[{msg_type}]]></MsgType>{inner}"
            f"<MsgId>{msg_id}</MsgId></xml>")


WX_TEXT = wx_message("text", "<Content><![CDATA[你好]]></Content>")
WX_SUBSCRIBE = ("<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[oWx-user-2]]></FromUserName>"
                "<CreateTime>1764072000</CreateTime><MsgType><![CDATA[event]]></MsgType>"
                "<Event><![CDATA[subscribe]]></Event><EventKey><![CDATA[qrscene_42]]></EventKey></xml>")
write("webhook_wechat", "plain-text", webhook(POST | SIGNED, 0, query="timestamp=1411525903&nonce=461056294", body=WX_TEXT))
write("webhook_wechat", "plain-voice", webhook(POST | SIGNED, 0, body=wx_message(
    "voice", "<MediaId>m</MediaId><Format>amr</Format><Recognition><![CDATA[hello]]></Recognition>")))
write("webhook_wechat", "aes-subscribe", webhook(POST | SIGNED, 2, body=WX_SUBSCRIBE))
write("webhook_wechat", "aes-link", webhook(POST | SIGNED, 2, body=wx_message(
    "link", "<Title><![CDATA[Order]]></Title><Url><![CDATA[https://x]]></Url>")))
# Mode 3: the whole plaintext: 16 random bytes, length, XML, AppID, padding to 32.
xml = b"<xml><FromUserName>u</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType></xml>"
plain = b"R" * 16 + len(xml).to_bytes(4, "big") + xml + b"wx49f0ab532d5d035a"
pad = 32 - len(plain) % 32
write("webhook_wechat", "aes-framed", webhook(POST | SIGNED, 3, body=plain + bytes([pad]) * pad))
# Mode 1: wechatpy's safe-mode vector as the envelope (its own signature and parameters).
ENCRYPT = ("RgqEoJj5A4EMYlLvWO1F86ioRjZfaex/gePD0gOXTxpsq5Yj4GNglrBb8I2BAJVODGajiFnXBu7mCPatfjsu6IHCrsTyeDXzF6Bv283dGymzxh6yd"
           "JRvZsryDyZbLTE7rhnus50qGPMfp2wASFlzEgMW9z1ef/RD8XzaFYgm7iTdaXpXaG4+BiYyolBug/gYNx410cvkKR2/nPwBiT+P4hIiOAQqGp/Tyw"
           "ZBtDh1yCF2KOd0gpiMZ5jSw3e29mTvmUHzkVQiMS6td7vXUaWOMZnYZlF3So2SjHnwh4jYFxdgpkHHqIrH/54SNdshoQgWYEvccTKe7FS709/5t6N"
           "MxuGhcUGAPOQipvWTT4dShyqio7mlsl5noTrb++x6En749zCpQVhDpbV6GDnTbcX2e8K9QaNWHp91eBdCRxthuL0=")
write("webhook_wechat", "aes-envelope", webhook(
    POST | SIGNED, 1, query="timestamp=1411525903&nonce=461056294",
    body=f"<xml><ToUserName><![CDATA[wx49f0ab532d5d035a]]></ToUserName><Encrypt><![CDATA[{ENCRYPT}]]></Encrypt></xml>"))
write("webhook_wechat", "handshake", webhook(
    GET | SIGNED, 0, query="timestamp=1411443780&nonce=437374425&echostr=4ByGGj%2BsVCYc"))

# --- Email ------------------------------------------------------------------------------
MIME = ("From: Ana Maria Lopez <Ana.Lopez@Example.com>\r\nTo: support@shop.example\r\nSubject: Order 42\r\n"
        "Message-ID: <abc123@mail.example.com>\r\nDate: Fri, 11 Sep 2015 20:32:32 +0000\r\n"
        "Content-Type: text/plain; charset=UTF-8\r\n\r\nWhere is my order?\r\n\r\n> Thanks for your order\r\n")
MULTIPART = ("From: =?UTF-8?B?SsO8cmdlbg==?= <jurgen@example.de>\r\nSubject: =?UTF-8?Q?R=C3=BCckfrage?=\r\n"
             "MIME-Version: 1.0\r\nContent-Type: multipart/alternative; boundary=\"b1\"\r\n\r\n"
             "--b1\r\nContent-Type: text/plain; charset=ISO-8859-1\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n"
             "Gr=FC=DFe\r\n--b1\r\nContent-Type: text/html\r\nContent-Transfer-Encoding: base64\r\n\r\n"
             "PGI+aGk8L2I+\r\n--b1--\r\n")


def ses(content):
    return j({"notificationType": "Received",
              "mail": {"timestamp": "2015-09-11T20:32:33.936Z", "source": "ana.lopez@example.com",
                       "messageId": "d6iitobk75ur44p8kdnnp7g2n800", "destination": ["support@shop.example"],
                       "commonHeaders": {"messageId": "<abc123@mail.example.com>", "subject": "Order 42"}},
              "receipt": {"spamVerdict": {"status": "PASS"}, "virusVerdict": {"status": "PASS"},
                          "action": {"type": "SNS", "encoding": "UTF8"}},
              "content": content})


write("webhook_email", "lambda-notification", webhook(POST, 2, body=ses(MIME)))
write("webhook_email", "mime", webhook(POST, 3, body=MIME))
write("webhook_email", "mime-multipart-base64", webhook(POST, 3 | 0x10, body=MULTIPART))
write("webhook_email", "signed-v2", webhook(POST, 1 | 0x10, body=ses(MIME)))
write("webhook_email", "sns-unsigned", webhook(POST, 0, headers="x-amz-sns-message-type: Notification\n", body=j(
    {"Type": "Notification", "MessageId": "22b80b92", "TopicArn": "arn:aws:sns:us-east-1:123456789012:inbound",
     "Message": "{}", "Timestamp": "2015-09-11T20:32:34.000Z", "SignatureVersion": "1", "Signature": "AAAA",
     "SigningCertURL": "https://sns.us-east-1.amazonaws.com/x.pem"})))

# --- Configuration ----------------------------------------------------------------------
write("config_toml", "dev", (ROOT.parent / "config" / "dev.toml").read_bytes())
write("config_toml", "rules", """[store]
kind = "dynamodb"
table = "t"
[workspace]
closing_notes = "category_required"
closing_categories = ["resolved"]
[[channels]]
id = "fb"
kind = "messenger"
app_secret = "s"
verify_token = "v"
access_token = "t"
human_agent_tag = false
rules = { window = "36h", tags = [{ name = "ACCOUNT_UPDATE", max_age = "2d" }], openers = [{ opener = "ad_referral", window = "7d" }] }
[[channels]]
id = "vb"
kind = "viber"
auth_token = "a"
initiated_allowance_per_month = 5
[[channels]]
id = "wx"
kind = "wechat"
token = "t"
app_id = "wx1"
app_secret = "s"
encoding_aes_key = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
rules = { window = "48h", quota_per_window = 3 }
[[channels]]
id = "api"
kind = "custom"
secret = "s"
rules = { window = "none" }
""")
write("config_toml", "kinds", """[server]
public_url = "https://x.example"
listen = "0.0.0.0:80"
[store]
kind = "sqlite"
path = "x.db"
[[agents]]
id = "alice"
token = "dev-token-alice"
[[channels]]
id = "wa"
kind = "whatsapp"
app_secret = "s"
verify_token = "v"
access_token = "t"
phone_number_id = "1"
rules = { templates = false, after_window = "anything" }
[[channels]]
id = "mail"
kind = "email"
from = "support@shop.example"
sns_topic_arns = ["arn:aws:sns:us-east-1:1:in"]
region = "eu-west-1"
[[channels]]
id = "tt"
kind = "tiktok"
[[channels]]
id = "ln"
kind = "line"
channel_secret = "s"
channel_access_token = "t"
api_base = "http://127.0.0.1:9"
""")

# --- Domain parsers ---------------------------------------------------------------------
for name, text in [
    ("ulid", "01ARZ3NDEKTSV4RRFFQ69G5FAV"),
    ("email", " Ana.Lopez@Example.COM "),
    ("phone", "(+1) 415-555-0100"),
    ("rfc3339", "2026-11-25T10:00:00.123+05:30"),
    ("search", "carlos garcía"),
    ("search-phone", "0412 345"),
    ("profile", "Ana\tLópez\tana@example.com\t+61 412 345 678"),
    ("cursor", "eyJ2IjoxLCJzIjoiaW5ib3giLCJwIjpbImEiLDFdfQ"),
    ("message-json", j({"id": "01ARZ3NDEKTSV4RRFFQ69G5FAV", "contact_id": "01ARZ3NDEKTSV4RRFFQ69G5FAW",
                         "text": "hi", "at": "2026-11-25T10:00:00Z"})),
    ("state-json", j({"last_inbound_at": "2026-11-25T10:00:00Z", "last_opener": None, "sent_since_inbound": 2,
                       "paid_sent": {"month": {"year": 2026, "month": 11}, "count": 3}, "blocked": False,
                       "opted_out": False, "unsubscribed": False})),
]:
    write("domain_parsers", name, text)

# --- Agent API: steps `[route][aux] headers \0 payload` joined by \n--\n -------------------
def step(route, aux=0, payload="", headers=None):
    data = bytes([route, aux])
    if headers is not None:
        data += headers.encode() + b"\0"
    return data + (payload.encode() if isinstance(payload, str) else payload)


def steps(*s):
    return b"\n--\n".join(s)


# Contacts (aux & 7): 0 Messenger 3 d, 1 WhatsApp 30 h, 2 WeChat 1 h, 3 Telegram 10 min, 4 web 1 min.
write("api_json", "send-close-reopen", steps(
    step(0, 3, j({"channel": "tg", "text": "Sorry! Let me check."})),
    step(2, 3, j({"category": "resolved", "summary": "Refund issued"})),
    step(9, 0, "view=mine&status=closed&q=carl"),
    step(0, 3 | 0x40, j({"channel": "tg", "text": "Your refund went out today."}))))
write("api_json", "whatsapp-template", steps(
    step(0, 1, j({"channel": "wa", "text": "hello"})),
    step(0, 1, j({"channel": "wa", "template": {"name": "order_update", "language": "en_US", "parameters": ["42"]}}),
         headers="Idempotency-Key: k-1\n")))
write("api_json", "messenger-tag", step(0, 0, j({"channel": "fb", "text": "We found it", "tag": "HUMAN_AGENT"})))
write("api_json", "snooze-assign-profile", steps(
    step(4, 4, j({"until": "2026-11-26T09:00:00Z"})),
    step(5, 4, j({"agent_id": "bob"})),
    step(6, 4, j({"first_name": "Ana", "last_name": "López", "email": "ana@example.com", "phone": "+61412345678"})),
    step(9, 0x10, "view=unassigned&status=snoozed&sort=oldest&limit=2")))
write("api_json", "block-list", steps(
    step(7, 2), step(11, 2), step(12, 2, "limit=1"), step(8, 2), step(3, 2 | 0x20), step(13, 0)))
write("api_json", "webhooks", steps(
    step(14, 0, j({"visitor_id": "v-new", "message_id": "w9", "text": "new visitor", "email": "new@example.com"})),
    step(15, 0x80, j(TG_MESSAGE)),
    step(10, 0, "q=new%40example.com&status=all")))
