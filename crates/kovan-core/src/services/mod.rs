//! Servers Kovan runs beside the instances: the front doors of sites (nginx).

pub mod nginx;
