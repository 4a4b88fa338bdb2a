//! [`CacheBackend`] by its kovan.toml name in both directions: the workspace type only serializes,
//! and a preview comes back from the window to be flushed.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::workspace::CacheBackend;

const ALL: [CacheBackend; 5] = [
    CacheBackend::Redis,
    CacheBackend::Locmem,
    CacheBackend::File,
    CacheBackend::Db,
    CacheBackend::Dummy,
];

pub fn serialize<S: Serializer>(backend: &CacheBackend, s: S) -> Result<S::Ok, S::Error> {
    backend.serialize(s)
}

pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<CacheBackend, D::Error> {
    let name = String::deserialize(d)?;
    ALL.into_iter()
        .find(|b| b.to_string() == name)
        .ok_or_else(|| {
            serde::de::Error::unknown_variant(&name, &["redis", "locmem", "file", "db", "dummy"])
        })
}
