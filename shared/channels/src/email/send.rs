//! Outbound mail through SES v2 `SendEmail` (the AWS SDK: it signs with SigV4, which we
//! would not hand-roll), with `In-Reply-To`/`References` for threading.

use aws_sdk_sesv2::config::{BehaviorVersion, Credentials, Region, SharedCredentialsProvider};
use aws_sdk_sesv2::error::SdkError;
use aws_sdk_sesv2::operation::send_email::SendEmailError;
use aws_sdk_sesv2::types::{Body, Content, Destination, EmailContent, Message, MessageHeader};
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;
use replyline_config::EmailSettings;
use replyline_domain::ChannelFlag;
use url::Url;

use crate::outbound::{
    plain_text, Delivered, OutboundMessage, SendError, CONNECT_TIMEOUT, REQUEST_TIMEOUT,
};

const DEFAULT_REGION: &str = "us-east-1";
/// Used when we do not know the customer's subject (the message carries none).
const DEFAULT_SUBJECT: &str = "Re: your message";

/// The SES client: region from the settings, endpoint from `api_base` unless it is AWS's
/// own, credentials from the environment (Lambda sets them) unless given. No SDK retries:
/// a failed send is stored as failed and retried by our own flow.
pub(super) fn client(
    settings: &EmailSettings,
    api_base: &Url,
    creds: Option<Credentials>,
) -> aws_sdk_sesv2::Client {
    let region = settings
        .region
        .clone()
        .unwrap_or_else(|| DEFAULT_REGION.to_owned());
    let mut b = aws_sdk_sesv2::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(region))
        .retry_config(RetryConfig::disabled())
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .operation_timeout(REQUEST_TIMEOUT)
                .build(),
        );
    b = match creds {
        Some(c) => b.credentials_provider(SharedCredentialsProvider::new(c)),
        None => b.credentials_provider(SharedCredentialsProvider::new(
            aws_config::environment::EnvironmentVariableCredentialsProvider::new(),
        )),
    };
    let is_aws = api_base
        .host_str()
        .is_some_and(|h| h.ends_with(".amazonaws.com"));
    if !is_aws {
        b = b.endpoint_url(api_base.as_str().trim_end_matches('/'));
    }
    aws_sdk_sesv2::Client::from_conf(b.build())
}

pub(super) async fn send(
    client: &aws_sdk_sesv2::Client,
    settings: &EmailSettings,
    msg: &OutboundMessage<'_>,
) -> Result<Delivered, SendError> {
    let text = plain_text(msg.content, "Email")?;
    let part = |data: &str| {
        Content::builder()
            .data(data)
            .charset("UTF-8")
            .build()
            .map_err(|e| SendError::Unsupported(format!("cannot build the email: {e}")))
    };
    let mut message = Message::builder()
        .subject(part(DEFAULT_SUBJECT)?)
        .body(Body::builder().text(part(text)?).build());
    if let Some(id) = msg.in_reply_to {
        // RFC 5322 wants the angle brackets; stored ids may lack them.
        let id = format!("<{}>", id.trim().trim_matches(['<', '>']));
        for name in ["In-Reply-To", "References"] {
            let header = MessageHeader::builder()
                .name(name)
                .value(&id)
                .build()
                .map_err(|e| SendError::Unsupported(format!("cannot build the email: {e}")))?;
            message = message.headers(header);
        }
    }
    let out = client
        .send_email()
        .from_email_address(&settings.from)
        .destination(Destination::builder().to_addresses(msg.to.as_str()).build())
        .content(EmailContent::builder().simple(message.build()).build())
        .send()
        .await
        .map_err(map_error)?;
    Ok(Delivered {
        provider_message_id: out.message_id().unwrap_or_default().to_owned(),
    })
}

/// SES refusals: throttling and server faults are retryable; the rest are refusals. Only
/// an explicit suppression-list refusal reveals a hard stop.
fn map_error(
    e: SdkError<SendEmailError, aws_smithy_runtime_api::client::orchestrator::HttpResponse>,
) -> SendError {
    let service = match e {
        SdkError::ServiceError(s) => s,
        SdkError::TimeoutError(_) => return SendError::Unavailable("SES timed out".to_owned()),
        SdkError::DispatchFailure(_) => {
            return SendError::Unavailable("could not connect to SES".to_owned())
        }
        _ => return SendError::Unavailable("SES answered unreadably".to_owned()),
    };
    let status = service.raw().status().as_u16();
    let err = service.into_err();
    let text = err.meta().message().unwrap_or_default().to_owned();
    let code = err.meta().code().unwrap_or("unknown").to_owned();
    match err {
        SendEmailError::TooManyRequestsException(_) | SendEmailError::LimitExceededException(_) => {
            SendError::Unavailable(format!("SES throttled ({code})"))
        }
        _ if status >= 500 || status == 429 => {
            SendError::Unavailable(format!("SES failed ({code}, HTTP {status})"))
        }
        _ => {
            let suppressed = text.to_ascii_lowercase().contains("suppression list");
            SendError::Rejected {
                code,
                text,
                flag: suppressed.then_some(ChannelFlag::Unsubscribed),
            }
        }
    }
}
