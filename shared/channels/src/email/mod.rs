//! Email through Amazon SES: inbound mail arrives as an SES "Received" notification that
//! SNS posts to the webhook (signature checked, [`sns`]); replies go out through SES v2
//! `SendEmail` with `In-Reply-To`/`References`, so they thread in the customer's client.
//! (providers.md §3.5; channel-rules.md §3 Email.)

mod send;
mod ses;
pub mod sns;

use std::sync::Arc;

use replyline_config::EmailSettings;
use url::Url;

use crate::outbound::{Delivered, OutboundMessage, SendError};
use crate::webhook::{WebhookError, WebhookOutcome, WebhookReply, WebhookRequest};
use ses::Parsed;
use sns::{CertSource, FixedCert, HttpsCertSource, KeyCache, SnsMessage};

const TYPE_HEADER: &str = "x-amz-sns-message-type";

#[derive(Debug, Clone)]
pub struct Email {
    settings: EmailSettings,
    certs: Arc<dyn CertSource>,
    keys: Arc<KeyCache>,
    client: aws_sdk_sesv2::Client,
    api_base: Url,
}

impl Email {
    /// `http` is unused: the SES SDK brings its own HTTP client (with the same timeouts).
    pub fn new(settings: EmailSettings, api_base: Url, _http: reqwest::Client) -> Self {
        let certs: Arc<dyn CertSource> = match &settings.sns_cert_pem_path {
            Some(path) => match std::fs::read_to_string(path) {
                Ok(pem) => Arc::new(FixedCert(pem)),
                Err(e) => {
                    // Every signature then fails (401): loud, never a silent accept.
                    tracing::error!(error = %e, "cannot read sns_cert_pem_path");
                    Arc::new(FixedCert(String::new()))
                }
            },
            None => Arc::new(HttpsCertSource::default()),
        };
        let client = send::client(&settings, &api_base, None);
        Email {
            settings,
            certs,
            keys: Arc::default(),
            client,
            api_base,
        }
    }

    /// Replaces where SNS signing certificates come from (tests sign with their own).
    pub fn with_cert_source(mut self, certs: Arc<dyn CertSource>) -> Self {
        self.certs = certs;
        self
    }

    /// Uses these AWS credentials instead of the environment's (tests use dummy ones).
    pub fn with_credentials(mut self, creds: aws_sdk_sesv2::config::Credentials) -> Self {
        self.client = send::client(&self.settings, &self.api_base, Some(creds));
        self
    }

    /// An SES notification that SNS delivered to a Lambda function: Lambda's own
    /// invocation is authenticated by IAM, so there is no HTTP signature to check; the
    /// parsing is the HTTPS path's.
    pub fn parse_lambda_notification(message: &str) -> Result<WebhookOutcome, WebhookError> {
        let (events, ignored) = match ses::parse_notification(message)? {
            Parsed::Event(e) => (vec![*e], Vec::new()),
            Parsed::Ignored(why) => (Vec::new(), vec![why]),
        };
        Ok(WebhookOutcome::Events {
            events,
            ignored,
            failures: Vec::new(),
            reply: WebhookReply::ok_json(),
        })
    }

    pub fn handle_webhook(&self, req: &WebhookRequest) -> Result<WebhookOutcome, WebhookError> {
        if req.method != http::Method::POST {
            return Err(WebhookError::MethodNotAllowed);
        }
        let kind = req
            .header(TYPE_HEADER)
            .ok_or(WebhookError::Unauthorized("missing x-amz-sns-message-type"))?;
        // The signature lives inside the JSON, so a body that is not SNS JSON cannot be
        // verified at all: refused like a bad signature.
        let msg: SnsMessage = serde_json::from_slice(&req.body)
            .map_err(|_| WebhookError::Unauthorized("not a signed SNS message"))?;
        sns::verify(&msg, self.certs.as_ref(), &self.keys).map_err(WebhookError::Unauthorized)?;
        if msg.kind != kind {
            return Err(WebhookError::Unauthorized(
                "x-amz-sns-message-type does not match the signed Type",
            ));
        }
        if !self.settings.sns_topic_arns.is_empty()
            && !self.settings.sns_topic_arns.contains(&msg.topic_arn)
        {
            return Err(WebhookError::Unauthorized("SNS topic not accepted"));
        }
        let mut events = Vec::new();
        let mut ignored = Vec::new();
        match msg.kind.as_str() {
            "Notification" => match ses::parse_notification(&msg.message)? {
                Parsed::Event(e) => events.push(*e),
                Parsed::Ignored(why) => ignored.push(why),
            },
            // Confirming is the operator's decision (it starts the flow of mail).
            // The SubscribeURL carries the confirmation token: it stays out of logs; the
            // pending subscription is confirmed from the SNS console.
            "SubscriptionConfirmation" => ignored.push(format!(
                "SNS subscription confirmation for {}: confirm the pending subscription in the SNS console",
                msg.topic_arn
            )),
            other => ignored.push(format!("SNS {other} for {}", msg.topic_arn)),
        }
        Ok(WebhookOutcome::Events {
            events,
            ignored,
            failures: Vec::new(),
            reply: WebhookReply::ok_json(),
        })
    }

    pub async fn send(&self, msg: &OutboundMessage<'_>) -> Result<Delivered, SendError> {
        send::send(&self.client, &self.settings, msg).await
    }
}
