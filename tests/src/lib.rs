//! Cross-crate test suites live in `tests/tests/`; this library is intentionally empty.
