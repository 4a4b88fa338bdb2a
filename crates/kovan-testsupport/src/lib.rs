//! What Kovan's tests share, so each rule is written once: where a test may listen, how it waits
//! for something to become true, and how it copies a project.

mod copy;
mod eventually;
mod ports;

pub use copy::copy_project;
pub use eventually::eventually;
pub use ports::free_port;
