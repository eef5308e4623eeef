//! Helpers for the end-to-end tests (see `tests/` in this package).
