//! The email-inbound function: init once, then record each SES mail that SNS delivers.

use aws_lambda_events::event::sns::SnsEvent;
use lambda_runtime::{service_fn, LambdaEvent};

#[tokio::main]
async fn main() -> Result<(), replyline_lambda::Error> {
    replyline_lambda::init_tracing();
    let state = replyline_lambda::app_state().await?;
    lambda_runtime::run(service_fn(|event: LambdaEvent<SnsEvent>| {
        let state = state.clone();
        async move { replyline_lambda::record_ses_over_sns(&state, event.payload).await }
    }))
    .await
}
