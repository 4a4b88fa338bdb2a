//! What Kovan's tests share, so each rule is written once: where a test may listen, how it waits
//! for something to become true, how it copies a project, a redis-server of its own, a virtualenv lacking some packages, and a browser's
//! requests (HTTP, form POSTs, websockets) to the servers it starts.

mod copy;
mod eventually;
mod ports;
mod redis;
mod venv;
pub mod web;

pub use copy::copy_project;
pub use eventually::eventually;
pub use ports::free_port;
pub use redis::{redis_cli, redis_keys, RedisServer};
pub use venv::venv_without;
