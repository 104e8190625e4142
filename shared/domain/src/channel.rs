//! Channel kinds: the messaging products Replyline connects to.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The kind of a configured channel. Its rules (window, quotas, tags...) live in the
/// policy crate; its protocol in the channel adapters.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChannelKind {
    Telegram,
    Line,
    Webchat,
    Sms,
    Email,
    Messenger,
    Instagram,
    Whatsapp,
    Viber,
    Wechat,
    Tiktok,
    Custom,
}

/// A name that is not one of the channel kinds.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a channel kind; expected one of telegram, line, webchat, sms, email, messenger, instagram, whatsapp, viber, wechat, tiktok, custom")]
pub struct UnknownChannelKind(pub String);

impl ChannelKind {
    /// Every kind, in the order the product document lists them.
    pub const ALL: [ChannelKind; 12] = [
        ChannelKind::Telegram,
        ChannelKind::Line,
        ChannelKind::Webchat,
        ChannelKind::Sms,
        ChannelKind::Email,
        ChannelKind::Messenger,
        ChannelKind::Instagram,
        ChannelKind::Whatsapp,
        ChannelKind::Viber,
        ChannelKind::Wechat,
        ChannelKind::Tiktok,
        ChannelKind::Custom,
    ];

    /// The configuration and API spelling (`"whatsapp"`).
    pub const fn as_str(self) -> &'static str {
        match self {
            ChannelKind::Telegram => "telegram",
            ChannelKind::Line => "line",
            ChannelKind::Webchat => "webchat",
            ChannelKind::Sms => "sms",
            ChannelKind::Email => "email",
            ChannelKind::Messenger => "messenger",
            ChannelKind::Instagram => "instagram",
            ChannelKind::Whatsapp => "whatsapp",
            ChannelKind::Viber => "viber",
            ChannelKind::Wechat => "wechat",
            ChannelKind::Tiktok => "tiktok",
            ChannelKind::Custom => "custom",
        }
    }

    /// The product's name, as an agent reads it in a sentence (`"WhatsApp"`).
    pub const fn display_name(self) -> &'static str {
        match self {
            ChannelKind::Telegram => "Telegram",
            ChannelKind::Line => "LINE",
            ChannelKind::Webchat => "Website chat",
            ChannelKind::Sms => "SMS",
            ChannelKind::Email => "Email",
            ChannelKind::Messenger => "Facebook Messenger",
            ChannelKind::Instagram => "Instagram",
            ChannelKind::Whatsapp => "WhatsApp",
            ChannelKind::Viber => "Viber",
            ChannelKind::Wechat => "WeChat",
            ChannelKind::Tiktok => "TikTok",
            ChannelKind::Custom => "Custom channel",
        }
    }
}

impl fmt::Display for ChannelKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ChannelKind {
    type Err = UnknownChannelKind;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ChannelKind::ALL
            .into_iter()
            .find(|k| k.as_str() == s)
            .ok_or_else(|| UnknownChannelKind(s.to_owned()))
    }
}

/// A hard stop a provider tells us about, kept per contact-channel.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChannelFlag {
    /// The contact opted out (SMS STOP); cleared when they opt back in (START).
    OptedOut,
    /// Unsubscribed, unfollowed, blocked the bot, or the address bounced.
    Unsubscribed,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_str_and_serde() {
        for kind in ChannelKind::ALL {
            assert_eq!(kind.as_str().parse::<ChannelKind>().unwrap(), kind);
            let json = serde_json::to_string(&kind).unwrap();
            assert_eq!(json, format!("\"{}\"", kind.as_str()));
            assert_eq!(serde_json::from_str::<ChannelKind>(&json).unwrap(), kind);
        }
    }

    #[test]
    fn unknown_kind_names_the_value() {
        let err = "fax".parse::<ChannelKind>().unwrap_err();
        assert!(err.to_string().contains("'fax'"));
    }
}
