//! Connection slots of a live SQL port: at most `max` connections at once, and at most
//! [`Slots::per_address`] from one address, each counted from the moment it is accepted (before
//! its first byte is read: a connection that says nothing, or whose first bytes look like a
//! cancel request, holds a slot like any other). A connection over the limits is closed at once,
//! so that idle connections cannot run the process out of file descriptors (the dashboard shares
//! them).
//!
//! [`Idle`] closes a connection that stays silent: before its first byte for [`FIRST_BYTE_TIME`],
//! after it for the idle time its port sets.

use std::collections::HashMap;
use std::io;
use std::net::IpAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// How long a new connection may stay silent before its first byte.
pub const FIRST_BYTE_TIME: Duration = Duration::from_secs(10);

/// The slots of one port.
#[derive(Debug)]
pub struct Slots {
    max: usize,
    per_address: usize,
    held: Mutex<(usize, HashMap<IpAddr, usize>)>,
}

/// One connection's slot, given back when dropped.
#[derive(Debug)]
pub struct Slot {
    slots: Arc<Slots>,
    ip: IpAddr,
}

impl Slots {
    /// `max` connections at once (at least one); three quarters of them (at least one) from one
    /// address.
    pub fn new(max: usize) -> Arc<Slots> {
        let max = max.max(1);
        Arc::new(Slots { max, per_address: (max - max / 4).max(1), held: Mutex::new((0, HashMap::new())) })
    }

    /// The most connections one address may hold.
    pub fn per_address(&self) -> usize {
        self.per_address
    }

    /// A slot for a connection from `ip`, or `None` when the port or the address is full.
    pub fn take(self: &Arc<Self>, ip: IpAddr) -> Option<Slot> {
        let mut held = self.held.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (total, by_ip) = &mut *held;
        let mine = by_ip.get(&ip).copied().unwrap_or(0);
        if *total >= self.max || mine >= self.per_address {
            return None;
        }
        *total += 1;
        by_ip.insert(ip, mine + 1);
        Some(Slot { slots: self.clone(), ip })
    }

    /// How many slots are held now.
    pub fn held(&self) -> usize {
        self.held.lock().unwrap_or_else(std::sync::PoisonError::into_inner).0
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut held = self.slots.held.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        let (total, by_ip) = &mut *held;
        *total = total.saturating_sub(1);
        if let Some(n) = by_ip.get_mut(&self.ip) {
            *n -= 1;
            if *n == 0 {
                by_ip.remove(&self.ip);
            }
        }
    }
}

/// A connection that fails with `TimedOut` once nothing has been read or written on it for its
/// idle time ([`FIRST_BYTE_TIME`] before the first byte), holding its [`Slot`] until dropped.
pub struct Idle<S> {
    inner: S,
    timer: Pin<Box<Sleep>>,
    idle: Duration,
    _slot: Slot,
}

impl<S> Idle<S> {
    /// `inner`, closed after `idle` without traffic.
    pub fn new(inner: S, idle: Duration, slot: Slot) -> Idle<S> {
        let first = FIRST_BYTE_TIME.min(idle);
        Idle { inner, timer: Box::pin(tokio::time::sleep(first)), idle, _slot: slot }
    }

    /// The connection inside.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    fn active(&mut self) {
        let at = Instant::now() + self.idle;
        self.timer.as_mut().reset(at);
    }

    fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        self.timer.as_mut().poll(cx).is_ready()
    }
}

use std::future::Future as _;

impl<S: AsyncRead + Unpin> AsyncRead for Idle<S> {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        match Pin::new(&mut self.inner).poll_read(cx, buf) {
            Poll::Ready(Ok(())) => {
                if buf.filled().len() > before {
                    self.active();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => {
                if self.expired(cx) {
                    Poll::Ready(Err(io::Error::new(io::ErrorKind::TimedOut, "the connection was idle too long")))
                } else {
                    Poll::Pending
                }
            }
        }
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Idle<S> {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<io::Result<usize>> {
        let out = Pin::new(&mut self.inner).poll_write(cx, data);
        if matches!(out, Poll::Ready(Ok(n)) if n > 0) {
            self.active();
        }
        out
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_are_limited_per_port_and_per_address_and_given_back() {
        let slots = Slots::new(4);
        let (a, b): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let held: Vec<_> = (0..3).map(|_| slots.take(a).expect("a slot")).collect();
        assert!(slots.take(a).is_none(), "one address holds at most three of four");
        let last = slots.take(b).expect("another address gets the fourth");
        assert!(slots.take(b).is_none(), "the port is full");
        drop(last);
        assert_eq!(slots.held(), 3);
        drop(held);
        assert_eq!(slots.held(), 0);
        assert!(slots.take(a).is_some());
    }
}
