//! One `[[channels]]` entry: the fields every channel has, plus its kind's own settings.
//!
//! Parsed in two steps so that unknown keys are errors naming the key: the common fields
//! first, then the rest strictly into the kind's settings.

use replyline_domain::{ChannelId, ChannelKind};
use replyline_policy::{ChannelRules, RulesOverride};
use secrecy::SecretString;
use serde::Deserialize;
use url::Url;

use crate::error::ConfigError;

/// A configured channel, checked and ready to use.
#[derive(Debug, Clone)]
pub struct ChannelConfig {
    pub id: ChannelId,
    pub kind: ChannelKind,
    /// The provider API base URL (tests point it at a fake provider).
    pub api_base: Url,
    /// The channel's rules: its kind's defaults with the configured changes.
    pub rules: ChannelRules,
    pub settings: ChannelSettings,
}

/// The per-kind settings: credentials and provider options.
#[derive(Debug, Clone)]
pub enum ChannelSettings {
    Telegram(TelegramSettings),
    Line(LineSettings),
    Webchat(WebchatSettings),
    Sms(SmsSettings),
    Email(EmailSettings),
    Messenger(MetaSettings),
    Instagram(MetaSettings),
    Whatsapp(WhatsappSettings),
    Viber(ViberSettings),
    Wechat(WechatSettings),
    Tiktok(TiktokSettings),
    Custom(CustomSettings),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TelegramSettings {
    pub bot_token: SecretString,
    /// Compared with `X-Telegram-Bot-Api-Secret-Token` on every webhook.
    pub secret_token: SecretString,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LineSettings {
    pub channel_secret: SecretString,
    pub channel_access_token: SecretString,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebchatSettings {
    /// Signs inbound posts and our replies (`X-Replyline-Signature`).
    pub secret: SecretString,
    /// Where agent replies are POSTed.
    pub callback_url: Url,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SmsProvider {
    Twilio,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmsSettings {
    pub provider: SmsProvider,
    pub account_sid: String,
    pub auth_token: SecretString,
    /// The sending number (E.164) or Messaging Service SID.
    pub from: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailSettings {
    /// The address replies come from.
    pub from: String,
    /// SNS topics whose notifications are accepted.
    #[serde(default)]
    pub sns_topic_arns: Vec<String>,
    /// A fixed PEM certificate that SNS signatures must verify against, instead of the
    /// one fetched from `SigningCertURL` (tests and the dev server sign their own).
    #[serde(default)]
    pub sns_cert_pem_path: Option<std::path::PathBuf>,
    /// The SES region for sending; `us-east-1` when unset.
    #[serde(default)]
    pub region: Option<String>,
}

/// Messenger and Instagram.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetaSettings {
    pub app_secret: SecretString,
    pub verify_token: SecretString,
    #[serde(alias = "page_access_token")]
    pub access_token: SecretString,
    /// `false` when the app lacks Meta's Human Agent permission.
    #[serde(default)]
    pub human_agent_tag: Option<bool>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WhatsappSettings {
    pub app_secret: SecretString,
    pub verify_token: SecretString,
    pub access_token: SecretString,
    pub phone_number_id: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ViberSettings {
    pub auth_token: SecretString,
    /// The bot's name on messages (Viber requires one, at most 28 characters).
    #[serde(default = "default_viber_sender")]
    pub sender_name: String,
    #[serde(default)]
    pub initiated_allowance_per_month: Option<u32>,
    #[serde(default)]
    pub commercial_terms_accepted: Option<bool>,
}

fn default_viber_sender() -> String {
    "Support".to_owned()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WechatSettings {
    pub token: SecretString,
    pub app_id: String,
    pub app_secret: SecretString,
    /// Present for safe (AES) mode.
    #[serde(default)]
    pub encoding_aes_key: Option<SecretString>,
}

/// TikTok: rules only, until its messaging API is implemented.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TiktokSettings {}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustomSettings {
    pub secret: SecretString,
    #[serde(default)]
    pub callback_url: Option<Url>,
}

/// The common fields; the rest of the table is the kind's settings.
#[derive(Deserialize)]
struct RawChannel {
    id: String,
    kind: String,
    #[serde(default)]
    api_base: Option<Url>,
    #[serde(default)]
    rules: Option<RulesOverride>,
    #[serde(flatten)]
    rest: toml::Table,
}

/// The provider's public API, used unless `api_base` says otherwise.
fn default_api_base(kind: ChannelKind) -> &'static str {
    match kind {
        ChannelKind::Telegram => "https://api.telegram.org",
        ChannelKind::Line => "https://api.line.me",
        ChannelKind::Sms => "https://api.twilio.com",
        ChannelKind::Email => "https://email.us-east-1.amazonaws.com",
        ChannelKind::Messenger | ChannelKind::Whatsapp => "https://graph.facebook.com",
        ChannelKind::Instagram => "https://graph.instagram.com",
        ChannelKind::Viber => "https://chatapi.viber.com",
        ChannelKind::Wechat => "https://api.weixin.qq.com",
        ChannelKind::Tiktok => "https://business-api.tiktok.com",
        // Webchat and custom channels deliver to their callback URL.
        ChannelKind::Webchat | ChannelKind::Custom => "http://127.0.0.1/",
    }
}

pub(crate) fn parse_channel(
    index: usize,
    value: toml::Value,
) -> Result<ChannelConfig, ConfigError> {
    let at = |message: String| ConfigError::Channel {
        channel: format!("channels[{index}]"),
        message,
    };
    let raw: RawChannel = value
        .try_into()
        .map_err(|e: toml::de::Error| at(e.message().to_owned()))?;
    let id = ChannelId::parse(&raw.id).map_err(|e| at(format!("`id`: {e}")))?;
    let named = |message: String| ConfigError::Channel {
        channel: id.to_string(),
        message,
    };
    let kind: ChannelKind = raw
        .kind
        .parse()
        .map_err(|e| named(format!("`kind`: {e}")))?;
    let rest = toml::Value::Table(raw.rest);
    fn settings<T: serde::de::DeserializeOwned>(
        rest: toml::Value,
        kind: ChannelKind,
    ) -> Result<T, String> {
        rest.try_into()
            .map_err(|e: toml::de::Error| format!("{kind} settings: {}", e.message()))
    }
    let settings = match kind {
        ChannelKind::Telegram => ChannelSettings::Telegram(settings(rest, kind).map_err(named)?),
        ChannelKind::Line => ChannelSettings::Line(settings(rest, kind).map_err(named)?),
        ChannelKind::Webchat => ChannelSettings::Webchat(settings(rest, kind).map_err(named)?),
        ChannelKind::Sms => ChannelSettings::Sms(settings(rest, kind).map_err(named)?),
        ChannelKind::Email => ChannelSettings::Email(settings(rest, kind).map_err(named)?),
        ChannelKind::Messenger => ChannelSettings::Messenger(settings(rest, kind).map_err(named)?),
        ChannelKind::Instagram => ChannelSettings::Instagram(settings(rest, kind).map_err(named)?),
        ChannelKind::Whatsapp => ChannelSettings::Whatsapp(settings(rest, kind).map_err(named)?),
        ChannelKind::Viber => ChannelSettings::Viber(settings(rest, kind).map_err(named)?),
        ChannelKind::Wechat => ChannelSettings::Wechat(settings(rest, kind).map_err(named)?),
        ChannelKind::Tiktok => ChannelSettings::Tiktok(settings(rest, kind).map_err(named)?),
        ChannelKind::Custom => ChannelSettings::Custom(settings(rest, kind).map_err(named)?),
    };

    // Rule settings written beside the credentials (as providers' consoles name them)
    // join the `rules` table; saying the same thing in both places is an error.
    let mut overrides = raw.rules.unwrap_or_default();
    fn merge<T>(slot: &mut Option<T>, value: Option<T>, key: &str) -> Result<(), String> {
        if let Some(v) = value {
            if slot.is_some() {
                return Err(format!(
                    "`{key}` is set both in the channel and in its `rules`"
                ));
            }
            *slot = Some(v);
        }
        Ok(())
    }
    match &settings {
        ChannelSettings::Messenger(m) | ChannelSettings::Instagram(m) => {
            merge(
                &mut overrides.human_agent_tag,
                m.human_agent_tag,
                "human_agent_tag",
            )
            .map_err(named)?;
        }
        ChannelSettings::Viber(v) => {
            merge(
                &mut overrides.initiated_allowance_per_month,
                v.initiated_allowance_per_month,
                "initiated_allowance_per_month",
            )
            .map_err(named)?;
            merge(
                &mut overrides.commercial_terms_accepted,
                v.commercial_terms_accepted,
                "commercial_terms_accepted",
            )
            .map_err(named)?;
        }
        _ => {}
    }
    let rules =
        ChannelRules::configured(kind, &overrides).map_err(|e| named(format!("rules: {e}")))?;
    let api_base = match raw.api_base {
        Some(u) => u,
        None => {
            Url::parse(default_api_base(kind)).map_err(|e| named(format!("`api_base`: {e}")))?
        }
    };
    if !matches!(api_base.scheme(), "http" | "https") {
        return Err(named(format!(
            "`api_base` must be an http(s) URL, not {api_base}"
        )));
    }
    Ok(ChannelConfig {
        id,
        kind,
        api_base,
        rules,
        settings,
    })
}
