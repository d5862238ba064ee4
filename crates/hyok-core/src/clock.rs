//! Time as the lab's TTL caches and lifecycle timers see it, injectable so tests advance time
//! instead of sleeping (as mini-redis pauses tokio's clock; a paused tokio clock would also fire
//! the timeouts of calls waiting on real sockets, so the lab passes its own clock instead).
//!
//! Invariant: a service that keeps anything for a while, or moves a resource on after a delay,
//! asks its `Clock`, never `Instant::now()` or `tokio::time::sleep` directly.

use std::{
    sync::Arc,
    time::{Duration, Instant},
};
use time::OffsetDateTime;
use tokio::sync::watch;

/// The system clock, or a manual one that moves only when a test advances it.
#[derive(Clone, Debug, Default)]
pub struct Clock(Option<Arc<Manual>>);

#[derive(Debug)]
struct Manual {
    start: Instant,
    wall_start: OffsetDateTime,
    offset: watch::Sender<Duration>,
}

impl Clock {
    /// Real time.
    pub fn system() -> Self {
        Self(None)
    }

    /// A clock that stands still at the moment it is made until [`Clock::advance`] moves it.
    pub fn manual() -> Self {
        let (offset, _) = watch::channel(Duration::ZERO);
        Self(Some(Arc::new(Manual { start: Instant::now(), wall_start: OffsetDateTime::now_utc(), offset })))
    }

    /// Whether this is a manual clock.
    pub fn is_manual(&self) -> bool {
        self.0.is_some()
    }

    /// Move a manual clock on by `by`, waking every [`Clock::sleep`] that is then due. Does
    /// nothing to the system clock.
    pub fn advance(&self, by: Duration) {
        if let Some(m) = &self.0 {
            m.offset.send_modify(|o| *o = o.saturating_add(by));
        }
    }

    fn offset(m: &Manual) -> Duration {
        *m.offset.borrow()
    }

    /// Now, on the monotonic clock.
    pub fn now(&self) -> Instant {
        match &self.0 {
            None => Instant::now(),
            Some(m) => m.start + Self::offset(m),
        }
    }

    /// Time passed since `earlier` (a value of [`Clock::now`]).
    pub fn since(&self, earlier: Instant) -> Duration {
        self.now().saturating_duration_since(earlier)
    }

    /// Now, on the wall clock (UTC).
    pub fn now_utc(&self) -> OffsetDateTime {
        match &self.0 {
            None => OffsetDateTime::now_utc(),
            Some(m) => m.wall_start + Self::offset(m),
        }
    }

    /// Seconds since the Unix epoch.
    pub fn unix_now(&self) -> i64 {
        self.now_utc().unix_timestamp()
    }

    /// Wait `d`: real time on the system clock, until a test has advanced a manual clock by `d`.
    pub async fn sleep(&self, d: Duration) {
        match &self.0 {
            None => tokio::time::sleep(d).await,
            Some(m) => {
                let due = Self::offset(m).saturating_add(d);
                let mut rx = m.offset.subscribe();
                // `wait_for` checks the current value first, so an advance before this line counts.
                let _ = rx.wait_for(|o| *o >= due).await;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_manual_clock_moves_only_when_advanced() {
        let clock = Clock::manual();
        let (t0, w0) = (clock.now(), clock.now_utc());
        std::thread::sleep(Duration::from_millis(5));
        assert_eq!(clock.now(), t0, "stands still");
        let sleeper = tokio::spawn({
            let clock = clock.clone();
            async move { clock.sleep(Duration::from_secs(60)).await }
        });
        tokio::task::yield_now().await;
        clock.advance(Duration::from_secs(59));
        tokio::task::yield_now().await;
        assert!(!sleeper.is_finished(), "59 s is not 60 s");
        clock.advance(Duration::from_secs(1));
        tokio::time::timeout(Duration::from_secs(5), sleeper).await.expect("woke").expect("task");
        assert_eq!(clock.since(t0), Duration::from_secs(60));
        assert_eq!(clock.now_utc() - w0, time::Duration::seconds(60));
    }

    #[tokio::test]
    async fn the_system_clock_is_real_time() {
        let clock = Clock::system();
        let t0 = clock.now();
        clock.advance(Duration::from_secs(3600));
        clock.sleep(Duration::from_millis(2)).await;
        let passed = clock.since(t0);
        assert!(passed >= Duration::from_millis(2) && passed < Duration::from_secs(3600), "{passed:?}");
    }
}
