//! A criterion clock that can count only this thread's CPU time, shared by
//! `crates/core/benches/evaluation.rs` and `crates/bench/benches/compare.rs`.
//!
//! Why: the benchmark machine has 2 cores shared with builds, browsers and
//! servers of other work; at a load of 6–8 the benchmark thread is off the
//! CPU most of the time, and wall-clock medians measured that, not the code.
//! `CLOCK_THREAD_CPUTIME_ID` advances only while the thread runs.
use std::time::{Duration, Instant};

use criterion::measurement::{Measurement, ValueFormatter, WallTime};

/// Thread CPU time (Linux) or wall-clock time.
pub struct Clock {
    cpu: bool,
    wall: WallTime,
}

impl Clock {
    /// CPU time on Linux unless `SWITCHYARD_BENCH_CLOCK=wall`.
    pub fn from_env() -> Self {
        let wall = std::env::var("SWITCHYARD_BENCH_CLOCK").is_ok_and(|v| v == "wall");
        Clock { cpu: cfg!(target_os = "linux") && !wall, wall: WallTime }
    }
}

#[cfg(target_os = "linux")]
fn thread_cpu() -> Duration {
    #[repr(C)]
    struct Timespec {
        tv_sec: i64,
        tv_nsec: i64,
    }
    unsafe extern "C" {
        fn clock_gettime(clock: i32, ts: *mut Timespec) -> i32;
    }
    const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
    let mut ts = Timespec { tv_sec: 0, tv_nsec: 0 };
    // SAFETY: `ts` is a valid, writable timespec (64-bit Linux layout);
    // the call only writes it.
    let rc = unsafe { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime failed");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

#[cfg(not(target_os = "linux"))]
fn thread_cpu() -> Duration {
    Duration::ZERO
}

impl Measurement for Clock {
    type Intermediate = (Instant, Duration);
    type Value = Duration;

    fn start(&self) -> Self::Intermediate {
        (Instant::now(), if self.cpu { thread_cpu() } else { Duration::ZERO })
    }
    fn end(&self, (wall, cpu): Self::Intermediate) -> Duration {
        if self.cpu { thread_cpu().saturating_sub(cpu) } else { wall.elapsed() }
    }
    fn add(&self, a: &Duration, b: &Duration) -> Duration {
        *a + *b
    }
    fn zero(&self) -> Duration {
        Duration::ZERO
    }
    fn to_f64(&self, v: &Duration) -> f64 {
        v.as_nanos() as f64
    }
    fn formatter(&self) -> &dyn ValueFormatter {
        self.wall.formatter()
    }
}
