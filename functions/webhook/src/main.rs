//! The webhook function: init once (logs, configuration, clients), then serve its router.

#[tokio::main]
async fn main() -> Result<(), replyline_lambda::Error> {
    replyline_lambda::init_tracing();
    let state = replyline_lambda::app_state().await?;
    replyline_lambda::serve(replyline_api::webhook_function(state)).await
}
