//! The access token WeChat's send API needs: fetched with the AppID and AppSecret,
//! valid for `expires_in` seconds, cached and shared by every clone of the adapter.
//!
//! Fetching a new token invalidates the previous one (after a short overlap), so fetches
//! are serialised behind the cache's lock: concurrent sends wait for one fetch instead of
//! invalidating each other's tokens.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Deserialize;
use tokio::sync::Mutex;

/// Refresh this long before the token expires (WeChat keeps the old token valid for
/// five minutes after a new one is fetched, so this is also safe for other holders).
const REFRESH_MARGIN: Duration = Duration::from_secs(300);

/// A token and when to stop using it.
#[derive(Clone)]
struct Cached {
    value: String,
    refresh_at: Instant,
}

/// The shared cache. Debug output never shows the token.
#[derive(Clone, Default)]
pub(super) struct TokenCache {
    inner: Arc<Mutex<Option<Cached>>>,
}

impl std::fmt::Debug for TokenCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenCache { .. }")
    }
}

/// `GET /cgi-bin/token`'s answer: a token, or an error code.
#[derive(Deserialize)]
pub(super) struct TokenAnswer {
    #[serde(default)]
    pub access_token: Option<String>,
    #[serde(default)]
    pub expires_in: Option<u64>,
    #[serde(default)]
    pub errcode: Option<i64>,
    #[serde(default)]
    pub errmsg: Option<String>,
}

impl TokenCache {
    /// The cached token, or a fresh one from `fetch`. `stale` is a token WeChat just
    /// called invalid: it is dropped (unless another send already replaced it).
    pub(super) async fn get<F, Fut, E>(&self, stale: Option<&str>, fetch: F) -> Result<String, E>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<(String, u64), E>>,
    {
        let mut slot = self.inner.lock().await;
        if let Some(c) = slot.as_ref() {
            let is_stale = stale.is_some_and(|s| s == c.value);
            if !is_stale && Instant::now() < c.refresh_at {
                return Ok(c.value.clone());
            }
        }
        *slot = None;
        let (value, expires_in) = fetch().await?;
        let lifetime = Duration::from_secs(expires_in);
        let margin = REFRESH_MARGIN.min(lifetime / 2);
        *slot = Some(Cached {
            value: value.clone(),
            refresh_at: Instant::now() + (lifetime - margin),
        });
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    async fn fetch_counted(n: &AtomicUsize, expires_in: u64) -> Result<(String, u64), ()> {
        let i = n.fetch_add(1, Ordering::SeqCst);
        Ok((format!("token-{i}"), expires_in))
    }

    #[tokio::test]
    async fn cached_until_expiry_or_declared_stale() {
        let cache = TokenCache::default();
        let n = AtomicUsize::new(0);
        let t = cache.get(None, || fetch_counted(&n, 7200)).await.unwrap();
        assert_eq!(t, "token-0");
        // Shared by clones, not fetched again.
        let clone = cache.clone();
        assert_eq!(
            clone.get(None, || fetch_counted(&n, 7200)).await,
            Ok(t.clone())
        );
        // Another sender already replaced a stale token: that one is reused.
        assert_eq!(
            cache.get(Some("older"), || fetch_counted(&n, 7200)).await,
            Ok(t.clone())
        );
        // Declared stale: replaced.
        let fresh = cache.get(Some(&t), || fetch_counted(&n, 0)).await.unwrap();
        assert_eq!(fresh, "token-1");
        // Expired at once (expires_in 0): fetched again.
        assert_eq!(
            cache.get(None, || fetch_counted(&n, 7200)).await,
            Ok("token-2".to_owned())
        );
        assert_eq!(n.load(Ordering::SeqCst), 3);
    }
}
