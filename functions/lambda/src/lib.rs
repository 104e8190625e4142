//! Init shared by every Lambda function, so each `main` stays a few lines: JSON logs, the
//! configuration document (from a Secrets Manager secret in AWS), the store and HTTP
//! clients built once with timeouts, and the API Gateway JWT authorizer's claims handed to
//! the routers.

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use lambda_http::request::RequestContext;
use replyline_api::{AppState, Auth, GatewayClaims, PublicBase};
use replyline_config::{Config, Deployment, StoreConfig};
use replyline_domain::SystemClock;
use replyline_store::dynamo::{client_config, DynamoStore};
use replyline_store::sqlite::SqliteStore;
use replyline_store::{Faults, Store};

pub use lambda_http::Error;

/// Structured JSON logs, level from `AWS_LAMBDA_LOG_LEVEL` (set by the template's
/// `LoggingConfig`) or `RUST_LOG` (default info). Each line lists its spans: the Lambda
/// runtime's `requestId` and the request's route, channel and contact.
pub fn init_tracing() {
    let level = std::env::var("AWS_LAMBDA_LOG_LEVEL")
        .or_else(|_| std::env::var("RUST_LOG"))
        .unwrap_or_else(|_| "info".to_owned())
        .to_lowercase();
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(tracing_subscriber::EnvFilter::new(level))
        .with_current_span(false)
        .with_span_list(true)
        .without_time()
        .init();
}

/// What the stack decides, from the environment `template.yaml` sets. An empty value is
/// unset (a template parameter left at its default).
fn deployment() -> Result<Deployment, Error> {
    let public_url = match std::env::var("REPLYLINE_PUBLIC_URL")
        .ok()
        .filter(|v| !v.is_empty())
    {
        Some(url) => Some(
            url.parse()
                .map_err(|e| format!("REPLYLINE_PUBLIC_URL is not a URL: {e}"))?,
        ),
        None => None,
    };
    Ok(Deployment {
        table: std::env::var("REPLYLINE_TABLE").ok(),
        public_url,
    })
}

/// Reads the configuration once per execution environment: the secret named by
/// `REPLYLINE_CONFIG_SECRET` (ARN or name), else the file at `REPLYLINE_CONFIG`. The stack's
/// `REPLYLINE_TABLE` and `REPLYLINE_PUBLIC_URL` override the document. A rotated secret is
/// read by new execution environments (docs/deploy.md, "Rotate secrets").
pub async fn load_config(sdk: &aws_config::SdkConfig) -> Result<Config, Error> {
    let deployment = deployment()?;
    if let Ok(secret) = std::env::var("REPLYLINE_CONFIG_SECRET") {
        let client = aws_sdk_secretsmanager::Client::from_conf(
            aws_sdk_secretsmanager::config::Builder::from(sdk)
                .timeout_config(sdk_timeouts())
                .build(),
        );
        let value = client
            .get_secret_value()
            .secret_id(&secret)
            .send()
            .await
            .map_err(|e| format!("cannot read the configuration secret: {e}"))?;
        let text = value
            .secret_string()
            .ok_or("the configuration secret has no string value")?;
        return Ok(Config::from_toml_deployed(text, &deployment)?);
    }
    let path = std::env::var("REPLYLINE_CONFIG")
        .map_err(|_| "set REPLYLINE_CONFIG_SECRET (in AWS) or REPLYLINE_CONFIG (a file)")?;
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read the configuration file {path}: {e}"))?;
    Ok(Config::from_toml_deployed(&text, &deployment)?)
}

/// Timeouts for the init-time Secrets Manager call (the SDK sets none by default).
fn sdk_timeouts() -> aws_config::timeout::TimeoutConfig {
    aws_config::timeout::TimeoutConfig::builder()
        .operation_timeout(std::time::Duration::from_secs(3))
        .operation_attempt_timeout(std::time::Duration::from_secs(1))
        .connect_timeout(std::time::Duration::from_secs(1))
        .build()
}

/// Everything a function needs, built once per execution environment: configuration,
/// store (with one warm-up call, so the first request does not pay the TLS handshake),
/// the providers' HTTP client, and how agents are named.
pub async fn app_state() -> Result<AppState, Error> {
    let started = std::time::Instant::now();
    let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
    let config = load_config(&sdk).await?;
    let store: Arc<dyn Store> = match &config.store {
        StoreConfig::Dynamodb { table, tenant } => {
            let client = aws_sdk_dynamodb::Client::from_conf(client_config(
                aws_sdk_dynamodb::config::Builder::from(&sdk),
            ));
            let store = DynamoStore::new(client, table, tenant, Faults::default());
            // A failure here is not fatal: the first request retries and reports it.
            if let Err(e) = store.warm_up().await {
                tracing::warn!(error = %e, "warm-up call to DynamoDB failed");
            }
            Arc::new(store)
        }
        StoreConfig::Sqlite { path } => Arc::new(SqliteStore::open(path, Faults::default())?),
    };
    let claim = std::env::var("REPLYLINE_AGENT_CLAIM").unwrap_or_else(|_| "sub".to_owned());
    let auth = if std::env::var("REPLYLINE_DEV_TOKENS").is_ok_and(|v| v == "1") {
        Auth::DevTokens
    } else {
        Auth::GatewayJwt { claim }
    };
    let http = replyline_channels::http_client()?;
    tracing::info!(
        init_ms = started.elapsed().as_millis() as u64,
        channels = config.channels.len(),
        "initialised"
    );
    Ok(AppState::new(
        config,
        store,
        http,
        Arc::new(SystemClock),
        auth,
    ))
}

/// Copies the JWT authorizer's claims from the Lambda request context into the request,
/// where the routers' `Agent` extractor finds them, and, unless `REPLYLINE_PUBLIC_URL`
/// fixes it, the domain API Gateway was called on, which webhooks signed over their URL
/// (Twilio) verify against.
pub fn with_gateway_claims(router: Router) -> Router {
    let fixed_url = std::env::var("REPLYLINE_PUBLIC_URL").is_ok_and(|v| !v.is_empty());
    router.layer(axum::middleware::from_fn(
        move |mut req: axum::extract::Request, next: axum::middleware::Next| async move {
            let claims = claims_of(&req);
            let domain = domain_of(&req);
            req.extensions_mut().insert(GatewayClaims(claims));
            if let (false, Some(domain)) = (fixed_url, domain) {
                req.extensions_mut()
                    .insert(PublicBase(format!("https://{domain}")));
            }
            next.run(req).await
        },
    ))
}

fn domain_of(req: &axum::extract::Request) -> Option<String> {
    match req.extensions().get::<RequestContext>() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx.domain_name.clone(),
        _ => None,
    }
}

fn claims_of(req: &axum::extract::Request) -> HashMap<String, String> {
    match req.extensions().get::<RequestContext>() {
        Some(RequestContext::ApiGatewayV2(ctx)) => ctx
            .authorizer
            .as_ref()
            .and_then(|a| a.jwt.as_ref())
            .map(|jwt| jwt.claims.clone())
            .unwrap_or_default(),
        _ => HashMap::new(),
    }
}

/// Serves `router` on the Lambda runtime.
pub async fn serve(router: Router) -> Result<(), Error> {
    lambda_http::run(with_gateway_claims(router)).await
}

/// The email function's work: SES puts each received mail on an SNS topic, which invokes
/// the function with an SNS event (authenticated by IAM, so no HTTP signature). Each
/// notification is parsed like the HTTPS path and recorded like any webhook event. A store
/// failure is an error, so Lambda retries the event (and then sends it to the dead-letter
/// queue); an unreadable notification is logged and skipped, as a retry cannot help.
pub async fn record_ses_over_sns(
    state: &AppState,
    event: aws_lambda_events::event::sns::SnsEvent,
) -> Result<(), Error> {
    let wanted = std::env::var("REPLYLINE_EMAIL_CHANNEL").ok();
    let (config, _) = state
        .adapters
        .values()
        .find(|(c, _)| match &wanted {
            Some(id) => c.id.as_str() == id,
            None => c.kind == replyline_domain::ChannelKind::Email,
        })
        .ok_or("no email channel is configured (set REPLYLINE_EMAIL_CHANNEL to its id)")?;
    for record in event.records {
        let outcome = match replyline_channels::email::Email::parse_lambda_notification(
            &record.sns.message,
        ) {
            Ok(o) => o,
            Err(e) => {
                tracing::warn!(channel = %config.id, reason = %e, "SES notification not understood; skipped");
                continue;
            }
        };
        if let replyline_channels::WebhookOutcome::Events {
            events, ignored, ..
        } = outcome
        {
            for what in ignored {
                tracing::info!(channel = %config.id, event = %what, "SES notification ignored");
            }
            for e in events {
                replyline_api::record_event(state, config, e).await?;
            }
        }
    }
    Ok(())
}
