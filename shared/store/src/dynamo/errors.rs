//! SDK errors -> [`StoreError`], and the conditional failures the adapter acts on.
//!
//! Anything the service or the network says, other than a condition we expect to fail
//! sometimes, becomes [`StoreError::Unavailable`] with a short message: the operation, the
//! error code (or the kind of network failure) and nothing else, so no request content or
//! credentials end up in an HTTP answer or a log line.

use aws_sdk_dynamodb::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::types::CancellationReason;

use super::items::Item;
use crate::error::StoreError;

/// The code DynamoDB gives a failed condition, as an exception and as a cancellation
/// reason.
pub const CONDITIONAL_CHECK_FAILED: &str = "ConditionalCheckFailed";
pub const CONDITIONAL_CHECK_FAILED_EXCEPTION: &str = "ConditionalCheckFailedException";
pub const TRANSACTION_CANCELED: &str = "TransactionCanceledException";

/// A short, secret-free description of an SDK failure.
pub fn describe<E, R>(op: &str, err: &SdkError<E, R>) -> String
where
    E: ProvideErrorMetadata,
{
    match err {
        SdkError::ConstructionFailure(_) => format!("DynamoDB {op}: request could not be built"),
        SdkError::TimeoutError(_) => format!("DynamoDB {op}: timed out"),
        SdkError::DispatchFailure(d) if d.is_timeout() => format!("DynamoDB {op}: timed out"),
        SdkError::DispatchFailure(d) if d.is_io() => {
            format!("DynamoDB {op}: connection failed")
        }
        SdkError::DispatchFailure(_) => format!("DynamoDB {op}: request could not be sent"),
        SdkError::ResponseError(_) => format!("DynamoDB {op}: unreadable response"),
        SdkError::ServiceError(_) => match err.code() {
            Some(code) => format!("DynamoDB {op}: {code}"),
            None => format!("DynamoDB {op}: service error"),
        },
        _ => format!("DynamoDB {op}: failed"),
    }
}

/// Any SDK failure as `Unavailable`.
pub fn unavailable<E, R>(op: &str, err: &SdkError<E, R>) -> StoreError
where
    E: ProvideErrorMetadata,
{
    let msg = describe(op, err);
    tracing::warn!(error = %msg, "dynamodb request failed");
    StoreError::Unavailable(msg)
}

/// Whether an SDK error is a failed condition (`ConditionalCheckFailedException`).
pub fn is_conditional_failure<E, R>(err: &SdkError<E, R>) -> bool
where
    E: ProvideErrorMetadata,
{
    matches!(err, SdkError::ServiceError(_))
        && err.code() == Some(CONDITIONAL_CHECK_FAILED_EXCEPTION)
}

/// Why one item of a cancelled transaction failed.
#[derive(Clone, Debug, PartialEq)]
pub struct Cancellation {
    /// The label of the write (see `db::Tx::push`).
    pub label: &'static str,
    /// `ConditionalCheckFailed`, `TransactionConflict`, `None` (this item was fine)...
    pub code: Option<String>,
    /// The item as it was, when the write asked for `ALL_OLD` on condition failure.
    pub item: Option<Item>,
}

impl Cancellation {
    pub fn from_reason(label: &'static str, r: &CancellationReason) -> Self {
        Cancellation {
            label,
            code: r.code().map(str::to_owned),
            item: r.item().cloned(),
        }
    }

    pub fn condition_failed(&self) -> bool {
        self.code.as_deref() == Some(CONDITIONAL_CHECK_FAILED)
    }
}

/// The reason of the write labelled `label`, if its condition failed.
pub fn condition_failed<'r>(reasons: &'r [Cancellation], label: &str) -> Option<&'r Cancellation> {
    reasons
        .iter()
        .find(|r| r.label == label && r.condition_failed())
}

/// How a transaction failed.
#[derive(Debug)]
pub enum TxError {
    /// Cancelled: one reason per item, in request order (empty if the service gave none).
    Cancelled(Vec<Cancellation>),
    /// Anything else.
    Store(StoreError),
}

impl From<StoreError> for TxError {
    fn from(e: StoreError) -> Self {
        TxError::Store(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cancellation_reasons_name_the_failed_condition() {
        let failed = CancellationReason::builder()
            .code(CONDITIONAL_CHECK_FAILED)
            .build();
        let ok = CancellationReason::builder().code("None").build();
        assert!(Cancellation::from_reason("x", &failed).condition_failed());
        assert!(!Cancellation::from_reason("x", &ok).condition_failed());
    }
}
