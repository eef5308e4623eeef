//! A `tower` layer (cargo feature `tower`) that records, per HTTP request,
//! the variants the request was served and how it went, for the release
//! guard: [`TelemetryLayer`].
//!
//! Each request runs in a fresh
//! [`RequestScope`](crate::telemetry::RequestScope) of the client, so every
//! flag the handler evaluates (on the request's task) is remembered; when
//! the response is ready its outcome is recorded against each of those
//! (flag, variant) pairs: `error` when the status is 5xx or the inner
//! service failed, `latency` from the call to the response head (a
//! streamed body's time is not included). Requests that evaluated no flag
//! record nothing; a request dropped before answering (the client went
//! away) records nothing. [`crate::Client::track`] called while serving the
//! request counts its event per variant too.
//!
//! ```
//! # fn demo(client: switchyard::Client) {
//! use axum::{Router, routing::get};
//! use switchyard::tower::TelemetryLayer;
//!
//! let app: Router = Router::new()
//!     .route("/checkout", get(|| async { "ok" }))
//!     .layer(TelemetryLayer::new(client.clone()));
//! # }
//! ```
//!
//! Owns: the layer and its service. Must not touch: aggregation (the
//! `telemetry` module), evaluation.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use crate::Client;
use crate::telemetry::Outcome;

/// Wraps a service so that each request's outcome is recorded against the
/// variants it was served (see the [module docs](self)).
#[derive(Clone, Debug)]
pub struct TelemetryLayer {
    client: Client,
}

impl TelemetryLayer {
    /// A layer recording into `client`'s telemetry (a no-op unless the
    /// client was built with [`crate::ClientBuilder::telemetry`]).
    pub fn new(client: Client) -> Self {
        TelemetryLayer { client }
    }
}

impl<S> tower_layer::Layer<S> for TelemetryLayer {
    type Service = TelemetryService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        TelemetryService { inner, client: self.client.clone() }
    }
}

/// The service [`TelemetryLayer`] makes.
#[derive(Clone, Debug)]
pub struct TelemetryService<S> {
    inner: S,
    client: Client,
}

/// The response future of [`TelemetryService`].
pub type ResponseFuture<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send + 'static>>;

impl<S, ReqBody, ResBody> tower_service::Service<http::Request<ReqBody>> for TelemetryService<S>
where
    S: tower_service::Service<http::Request<ReqBody>, Response = http::Response<ResBody>>,
    S::Future: Send + 'static,
    S::Error: 'static,
    ResBody: 'static,
{
    type Response = http::Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<Self::Response, Self::Error>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        let started = Instant::now();
        let scope = self.client.request_scope();
        // The synchronous part of the inner call runs in the scope too.
        let future = scope.run_sync(|| self.inner.call(request));
        let client = self.client.clone();
        Box::pin(async move {
            let result = scope.run(future).await;
            let error = match &result {
                Ok(response) => response.status().is_server_error(),
                Err(_) => true,
            };
            client.record(&scope, Outcome { error, latency: started.elapsed() });
            result
        })
    }
}
