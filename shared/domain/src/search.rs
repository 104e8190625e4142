//! Search normalisation, shared by indexing (write) and querying (read) so both sides
//! always agree, and by both store adapters (SQLite, DynamoDB) so they agree with each
//! other.
//!
//! The product's search: partial match on first name, last name and phone digits; exact,
//! case-insensitive match on email. [`SearchQuery::matches`] is the reference semantics.

mod email;
mod fold;
mod phone;
mod query;

pub use email::{Email, EmailError};
pub use fold::{fold_name, name_tokens};
pub use phone::{Phone, PhoneError};
pub use query::{SearchKeys, SearchKeysError, SearchQuery, SearchQueryError};
