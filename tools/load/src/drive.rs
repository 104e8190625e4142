//! Closed-loop load: `concurrency` workers each send a request, wait for the answer, send
//! the next; a phase ends at its request cap or its time cap, whichever comes first.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Bounds of one phase.
#[derive(Clone, Copy, Debug)]
pub struct Bounds {
    pub concurrency: usize,
    pub max_requests: usize,
    pub max_time: Duration,
}

/// What a phase measured.
#[derive(Clone, Debug)]
pub struct Report {
    pub name: String,
    pub requests: usize,
    pub errors: usize,
    pub first_error: Option<String>,
    pub elapsed: Duration,
    /// Sorted latencies, microseconds.
    latencies_us: Vec<u64>,
}

impl Report {
    pub fn throughput(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    /// The `p`-th percentile (0..=100) in milliseconds, nearest rank.
    pub fn percentile_ms(&self, p: f64) -> f64 {
        if self.latencies_us.is_empty() {
            return f64::NAN;
        }
        let rank = ((p / 100.0) * self.latencies_us.len() as f64).ceil() as usize;
        let i = rank.clamp(1, self.latencies_us.len()) - 1;
        self.latencies_us[i] as f64 / 1000.0
    }

    pub fn max_ms(&self) -> f64 {
        self.latencies_us
            .last()
            .map_or(f64::NAN, |&u| u as f64 / 1000.0)
    }
}

/// Runs `request(n)` for n = 0, 1, 2, ... on `bounds.concurrency` workers. `request`
/// answers `Err(description)` for a failed request (a non-2xx answer included).
pub async fn run<F, Fut>(name: &str, bounds: Bounds, request: F) -> Report
where
    F: Fn(usize) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send,
{
    let request = Arc::new(request);
    let next = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let deadline = started + bounds.max_time;
    let mut workers = Vec::new();
    for _ in 0..bounds.concurrency.max(1) {
        let request = request.clone();
        let next = next.clone();
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut errors = 0usize;
            let mut first_error = None;
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= bounds.max_requests || Instant::now() >= deadline {
                    break;
                }
                let t = Instant::now();
                let outcome = request(n).await;
                latencies.push(t.elapsed().as_micros() as u64);
                if let Err(e) = outcome {
                    errors += 1;
                    first_error.get_or_insert(e);
                }
            }
            (latencies, errors, first_error)
        }));
    }
    let mut latencies_us = Vec::new();
    let mut errors = 0;
    let mut first_error = None;
    for w in workers {
        let (l, e, f) = w.await.expect("a load worker panicked");
        latencies_us.extend(l);
        errors += e;
        if first_error.is_none() {
            first_error = f;
        }
    }
    let elapsed = started.elapsed();
    latencies_us.sort_unstable();
    Report {
        name: name.to_owned(),
        requests: latencies_us.len(),
        errors,
        first_error,
        elapsed,
        latencies_us,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_phase_stops_at_its_request_cap_and_counts_errors() {
        let bounds = Bounds {
            concurrency: 3,
            max_requests: 10,
            max_time: Duration::from_secs(30),
        };
        let r = run("t", bounds, |n| async move {
            if n % 5 == 0 {
                Err(format!("request {n} failed"))
            } else {
                Ok(())
            }
        })
        .await;
        assert_eq!(r.requests, 10);
        assert_eq!(r.errors, 2);
        assert!(r.first_error.is_some());
        assert!(r.percentile_ms(50.0) >= 0.0);
    }

    #[tokio::test]
    async fn a_phase_stops_at_its_time_cap() {
        let bounds = Bounds {
            concurrency: 2,
            max_requests: usize::MAX,
            max_time: Duration::from_millis(100),
        };
        let r = run("t", bounds, |_| async {
            tokio::time::sleep(Duration::from_millis(10)).await;
            Ok(())
        })
        .await;
        assert!(r.requests > 0 && r.requests < 100, "{}", r.requests);
        assert!(r.elapsed < Duration::from_secs(2));
    }
}
