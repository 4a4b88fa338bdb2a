//! What Kovan's tests share, so each rule is written once: where a test may listen, how it waits
//! for something to become true, how it copies a project, and a redis-server of its own.

mod copy;
mod eventually;
mod ports;
mod redis;

pub use copy::copy_project;
pub use eventually::eventually;
pub use ports::free_port;
pub use redis::RedisServer;
