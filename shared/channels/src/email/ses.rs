//! SES "Received" notifications (the SNS action's message): mail metadata plus the raw
//! MIME, which we parse with `mail-parser` rather than by hand.

use base64::Engine as _;
use mail_parser::MessageParser;
use replyline_domain::search::Email;
use replyline_domain::{Content, ExternalId, PersonName, ProfileFields, Timestamp};
use replyline_policy::Opener;
use serde::Deserialize;

use crate::webhook::{InboundEvent, WebhookError};

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Notification {
    notification_type: String,
    #[serde(default)]
    mail: Option<Mail>,
    #[serde(default)]
    receipt: Option<Receipt>,
    #[serde(default)]
    content: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Mail {
    #[serde(default)]
    timestamp: Option<String>,
    message_id: String,
    #[serde(default)]
    common_headers: Option<CommonHeaders>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CommonHeaders {
    #[serde(default)]
    message_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Receipt {
    #[serde(default)]
    spam_verdict: Option<Verdict>,
    #[serde(default)]
    virus_verdict: Option<Verdict>,
}

#[derive(Deserialize)]
struct Verdict {
    status: String,
}

/// What one SES notification amounts to.
#[derive(Debug)]
pub(crate) enum Parsed {
    Event(Box<InboundEvent>),
    Ignored(String),
}

/// Parses the JSON of an SES notification (the SNS `Message`).
pub(crate) fn parse_notification(json: &str) -> Result<Parsed, WebhookError> {
    let n: Notification = serde_json::from_str(json)
        .map_err(|e| WebhookError::Unparseable(format!("not an SES notification: {e}")))?;
    if n.notification_type != "Received" {
        return Ok(Parsed::Ignored(format!(
            "SES {} notification",
            n.notification_type
        )));
    }
    let failed = |v: &Option<Verdict>| v.as_ref().is_some_and(|v| v.status == "FAIL");
    if let Some(r) = &n.receipt {
        if failed(&r.spam_verdict) || failed(&r.virus_verdict) {
            return Ok(Parsed::Ignored(
                "SES mail with a FAIL spam/virus verdict".to_owned(),
            ));
        }
    }
    let mail = n
        .mail
        .ok_or_else(|| WebhookError::Unparseable("SES notification without mail".to_owned()))?;
    let raw = n.content.ok_or_else(|| {
        WebhookError::Unparseable("SES notification without content (not an SNS action?)".into())
    })?;
    let mime = decode_content(&raw);
    let msg = MessageParser::default()
        .parse(&mime)
        .ok_or_else(|| WebhookError::Unparseable("content is not a MIME message".to_owned()))?;
    let from = msg
        .from()
        .and_then(|a| a.first())
        .ok_or_else(|| WebhookError::Unparseable("mail without a From address".to_owned()))?;
    let address = from
        .address()
        .map(|a| a.trim().to_lowercase())
        .filter(|a| !a.is_empty())
        .ok_or_else(|| WebhookError::Unparseable("From without an address".to_owned()))?;
    let external_id =
        ExternalId::parse(&address).map_err(|e| WebhookError::Unparseable(e.to_string()))?;
    // The display name splits on its first space: "Ana María López" → "Ana", "María López".
    let (first, last) = match from.name().map(str::trim) {
        Some(n) => match n.split_once(' ') {
            Some((f, l)) => (Some(f), Some(l)),
            None => (Some(n), None),
        },
        None => (None, None),
    };
    let name = |n: Option<&str>| n.and_then(|s| PersonName::parse_optional(s).ok().flatten());
    let profile = ProfileFields {
        first_name: name(first),
        last_name: name(last),
        email: Email::parse(&address).ok(),
        ..ProfileFields::default()
    };
    // The RFC Message-ID is what the customer's client threads on and what we answer with
    // In-Reply-To; SES's own id is the fallback. An empty one ("<>") is no dedup key.
    let present = |id: &str| !id.trim_matches(['<', '>']).trim().is_empty();
    let event_id = msg
        .message_id()
        .filter(|id| present(id))
        .map(|id| format!("<{}>", id.trim_matches(['<', '>'])))
        .or_else(|| mail.common_headers.and_then(|h| h.message_id))
        .filter(|id| present(id))
        .or(Some(mail.message_id).filter(|id| present(id)))
        .ok_or_else(|| WebhookError::Unparseable("mail without a message id".to_owned()))?;
    let text = msg
        .body_text(0)
        .map(|t| without_quoted_lines(&t))
        .filter(|t| !t.is_empty())
        .or_else(|| msg.subject().map(str::to_owned))
        .unwrap_or_else(|| "(email without text)".to_owned());
    let content = Content::from_text(text).map_err(|e| WebhookError::Unparseable(e.to_string()))?;
    Ok(Parsed::Event(Box::new(InboundEvent {
        external_id,
        event_id,
        opener: Some(Opener::Message),
        occurred_at: mail
            .timestamp
            .and_then(|t| Timestamp::parse_rfc3339(&t).ok()),
        profile,
        content: Some(content),
        flag: None,
    })))
}

/// The body without the quoted history a reply carries (`> ...` lines), so the agent
/// sees what the customer wrote; a body that is all quote is kept whole.
fn without_quoted_lines(body: &str) -> String {
    let kept: Vec<&str> = body
        .lines()
        .filter(|l| !l.trim_start().starts_with('>'))
        .collect();
    let text = kept.join("\n").trim().to_owned();
    if text.is_empty() {
        body.trim().to_owned()
    } else {
        text
    }
}

/// The raw MIME: SES sends it as is (UTF-8 encoding) or base64 (Base64 encoding). Raw
/// MIME is never valid base64 (headers hold ':' and spaces), so a successful decode that
/// itself looks like MIME decides.
fn decode_content(raw: &str) -> Vec<u8> {
    let compact: String = raw.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    match base64::engine::general_purpose::STANDARD.decode(compact) {
        Ok(bytes) if bytes.contains(&b':') => bytes,
        _ => raw.as_bytes().to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIME: &str = "From: Ana Maria Lopez <Ana.Lopez@Example.com>\r\nTo: support@shop.example\r\nSubject: Order 42\r\nMessage-ID: <abc123@mail.example.com>\r\nDate: Fri, 11 Sep 2015 20:32:32 +0000\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nWhere is my order?\r\n";

    pub(crate) fn notification(content: &str, spam: &str) -> String {
        serde_json::json!({
            "notificationType": "Received",
            "mail": {
                "timestamp": "2015-09-11T20:32:33.936Z",
                "source": "ana.lopez@example.com",
                "messageId": "d6iitobk75ur44p8kdnnp7g2n800",
                "destination": ["support@shop.example"],
                "commonHeaders": {"from": ["Ana Maria Lopez <Ana.Lopez@Example.com>"], "messageId": "<abc123@mail.example.com>", "subject": "Order 42"}
            },
            "receipt": {"spamVerdict": {"status": spam}, "virusVerdict": {"status": "PASS"}, "action": {"type": "SNS", "topicArn": "arn:aws:sns:us-east-1:123456789012:inbound", "encoding": "UTF8"}},
            "content": content
        })
        .to_string()
    }

    fn event(json: &str) -> InboundEvent {
        match parse_notification(json) {
            Ok(Parsed::Event(e)) => *e,
            other => panic!("expected an event, got {other:?}"),
        }
    }

    #[test]
    fn received_mail_fills_the_contact_and_dedups_on_the_message_id() {
        let e = event(&notification(MIME, "PASS"));
        assert_eq!(e.external_id.as_str(), "ana.lopez@example.com");
        assert_eq!(e.event_id, "<abc123@mail.example.com>");
        assert_eq!(
            e.profile.first_name.as_ref().map(|n| n.as_str()),
            Some("Ana")
        );
        assert_eq!(
            e.profile.last_name.as_ref().map(|n| n.as_str()),
            Some("Maria Lopez")
        );
        assert_eq!(
            e.profile.email.as_ref().map(|m| m.as_str()),
            Some("ana.lopez@example.com")
        );
        assert_eq!(
            e.content.as_ref().and_then(|c| c.text()),
            Some("Where is my order?")
        );
        assert_eq!(
            e.occurred_at,
            Timestamp::parse_rfc3339("2015-09-11T20:32:33.936Z").ok()
        );
        assert_eq!(e.opener, Some(Opener::Message));
    }

    #[test]
    fn base64_content_is_decoded() {
        let b64 = base64::engine::general_purpose::STANDARD.encode(MIME);
        let e = event(&notification(&b64, "PASS"));
        assert_eq!(e.event_id, "<abc123@mail.example.com>");
        assert_eq!(e.external_id.as_str(), "ana.lopez@example.com");
    }

    #[test]
    fn missing_message_id_falls_back_to_the_ses_id() {
        let mime = "From: bob@example.com\r\nSubject: hi\r\n\r\nhello\r\n";
        let json =
            notification(mime, "PASS").replace("\"messageId\":\"<abc123@mail.example.com>\",", "");
        let e = event(&json);
        assert_eq!(e.event_id, "d6iitobk75ur44p8kdnnp7g2n800");
        assert_eq!(e.profile.first_name, None);
    }

    /// Same class as the empty Twilio MessageSid found by fuzzing: an empty Message-ID is
    /// no dedup key; the next id is used, and without any the mail is unparseable.
    #[test]
    fn empty_message_ids_fall_back() {
        let mime = "From: bob@example.com\r\nMessage-ID: <>\r\n\r\nhello\r\n";
        let e = event(&notification(mime, "PASS"));
        assert_eq!(e.event_id, "<abc123@mail.example.com>");
        let json = notification(mime, "PASS")
            .replace("<abc123@mail.example.com>", "")
            .replace("d6iitobk75ur44p8kdnnp7g2n800", " ");
        assert!(matches!(
            parse_notification(&json),
            Err(WebhookError::Unparseable(_))
        ));
    }

    #[test]
    fn quoted_history_is_dropped() {
        let mime = "From: bob@example.com\r\nMessage-ID: <r1@example.com>\r\n\r\nYes please.\r\n\r\n> Shall we ship it?\r\n> -- Support\r\n";
        let e = event(&notification(mime, "PASS"));
        assert_eq!(
            e.content.as_ref().and_then(|c| c.text()),
            Some("Yes please.")
        );
        let only_quote = "From: bob@example.com\r\n\r\n> just this\r\n";
        let e = event(&notification(only_quote, "PASS"));
        assert_eq!(
            e.content.as_ref().and_then(|c| c.text()),
            Some("> just this")
        );
    }

    #[test]
    fn spam_is_ignored_and_other_types_too() {
        assert!(matches!(
            parse_notification(&notification(MIME, "FAIL")),
            Ok(Parsed::Ignored(_))
        ));
        assert!(matches!(
            parse_notification(r#"{"notificationType":"Bounce"}"#),
            Ok(Parsed::Ignored(_))
        ));
        assert!(matches!(
            parse_notification("nope"),
            Err(WebhookError::Unparseable(_))
        ));
    }
}
