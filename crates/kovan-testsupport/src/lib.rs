//! What Kovan's tests share, so each rule is written once: where a test may listen, and how it
//! waits for something to become true.

mod eventually;
mod ports;

pub use eventually::eventually;
pub use ports::free_port;
