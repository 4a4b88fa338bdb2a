//! The data services Kovan runs itself for the instances: the managed redis-server and the front
//! doors of sites (nginx), and PostgreSQL. A service is started by the supervisor as
//! the leader of its own process group like an instance; what is here is how to find, start, probe
//! and address each service, not how to supervise a process.

pub mod database;
pub mod nginx;
pub mod postgres;
pub mod redis_server;

/// The name the managed Redis server goes by in the supervisor; not a valid instance name, so it
/// cannot collide with one.
pub const REDIS_SERVICE: &str = "redis-server";

/// The name the managed PostgreSQL server goes by in the supervisor; not a valid instance name.
pub const POSTGRES_SERVICE: &str = "postgresql-server";
