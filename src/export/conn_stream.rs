//! A connection that holds its slot until hyper drops it, and fails its reads
//! once it has moved no bytes for [`IDLE_TIMEOUT`]. hyper cuts idle HTTP/1
//! connections by its header timeout but keeps an idle HTTP/2 connection
//! forever, so a few hundred of those would hold every slot.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

use super::conn_limit::Slot;

/// As long as HTTP/1 clients get to send a request head.
pub const IDLE_TIMEOUT: Duration = super::http::HEADER_READ_TIMEOUT;

pub struct Limited<I> {
    inner: I,
    _slot: Slot,
    /// Fires at the earliest moment the connection could be idle; re-armed from
    /// `last_active` when it fires, so I/O only stores a time and never touches
    /// the timer wheel.
    idle: Pin<Box<Sleep>>,
    last_active: Instant,
}

impl<I> Limited<I> {
    pub fn new(inner: I, slot: Slot) -> Self {
        Limited {
            inner,
            _slot: slot,
            idle: Box::pin(tokio::time::sleep(IDLE_TIMEOUT)),
            last_active: Instant::now(),
        }
    }

    fn wrote(&mut self, r: &Poll<io::Result<usize>>) {
        if matches!(r, Poll::Ready(Ok(n)) if *n > 0) {
            self.last_active = Instant::now();
        }
    }

    /// Ready with an error once no bytes have moved for [`IDLE_TIMEOUT`].
    fn poll_idle(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        while self.idle.as_mut().poll(cx).is_ready() {
            let deadline = self.last_active + IDLE_TIMEOUT;
            if deadline <= Instant::now() {
                return Poll::Ready(io::Error::new(io::ErrorKind::TimedOut, "connection idle"));
            }
            self.idle.as_mut().reset(deadline);
        }
        Poll::Pending
    }
}

impl<I: AsyncRead + Unpin> AsyncRead for Limited<I> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(r) => {
                if buf.filled().len() > before {
                    self.last_active = Instant::now();
                }
                Poll::Ready(r)
            }
            Poll::Pending => self.poll_idle(cx).map(Err),
        }
    }
}

impl<I: AsyncWrite + Unpin> AsyncWrite for Limited<I> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write(cx, buf);
        self.wrote(&r);
        r
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_write_vectored(cx, bufs);
        self.wrote(&r);
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}
