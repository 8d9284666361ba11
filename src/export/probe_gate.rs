//! The service on a connection admitted to a reserve slot: it answers
//! `/healthz` and `/readyz` and nothing else, and closes after the response,
//! so the reserve is free again for the next probe.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::http::{header, HeaderValue, Request, Response, StatusCode, Version};
use tower_service::Service;

use super::http::is_probe;

#[derive(Clone)]
pub struct ProbeGate<S> {
    inner: S,
    probe_only: bool,
}

impl<S> ProbeGate<S> {
    pub fn new(inner: S, probe_only: bool) -> Self {
        ProbeGate { inner, probe_only }
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

impl<S, B> Service<Request<B>> for ProbeGate<S>
where
    S: Service<Request<B>, Response = Response<Body>>,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<Result<Response<Body>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        if !self.probe_only {
            return Box::pin(self.inner.call(req));
        }
        // `Connection: close` is HTTP/1 only; HTTP/2 connections end by the idle timeout.
        let close = req.version() <= Version::HTTP_11;
        let with_close = move |mut r: Response<Body>| {
            if close {
                r.headers_mut()
                    .insert(header::CONNECTION, HeaderValue::from_static("close"));
            }
            r
        };
        if is_probe(req.uri().path()) {
            let fut = self.inner.call(req);
            Box::pin(async move { fut.await.map(with_close) })
        } else {
            let mut r = Response::new(Body::from(
                "connection limit reached: this connection serves only /healthz and /readyz\n",
            ));
            *r.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
            Box::pin(std::future::ready(Ok(with_close(r))))
        }
    }
}
