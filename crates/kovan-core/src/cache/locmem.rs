//! LocMem: the cache lives inside the instance's process, so only the process can count or clear
//! it, through Kovan's endpoints: `GET /health/` (`cache.keys`) and `POST /health/cache/clear/`.

use serde_json::Value;

use super::error::CacheError;
use crate::generate::env_file;
use crate::http::{self, Response};
use crate::workspace::{Instance, Workspace};

/// Live (unexpired) entries, as the running instance reports them.
pub async fn count(instance: &Instance) -> Result<u64, CacheError> {
    let health = call(instance, "GET", "/health/", &[]).await?;
    let json = answer(instance, &health)?;
    // The `default` alias under `cache`, every other alias Kovan declared under `caches`.
    let cache = if instance.is_default_alias() {
        &json["cache"]
    } else {
        &json["caches"][instance.cache_alias.as_str()]
    };
    if cache.is_null() {
        return Err(unexpected(
            instance,
            format!(
                "it reports no cache alias {}: the config was written before the alias was declared. Write it again (kovan gen --write) and restart it.",
                instance.cache_alias
            ),
        ));
    }
    if let Some(error) = cache["error"].as_str() {
        return Err(unexpected(instance, format!("its cache reports {error}")));
    }
    cache["keys"].as_u64().ok_or_else(|| {
        unexpected(
            instance,
            format!(
                "it runs {} and reports no LocMem count. Write the config again (kovan gen --write) and restart it.",
                cache["backend"].as_str().unwrap_or("another cache backend")
            ),
        )
    })
}

/// Empty the instance's cache; returns how many live entries it held.
pub async fn flush(ws: &Workspace, instance: &Instance) -> Result<u64, CacheError> {
    // First make sure the port is this instance (and running): the token goes to no one else.
    answer(instance, &call(instance, "GET", "/health/", &[]).await?)?;
    let token = token(ws, instance)?;
    let path = if instance.is_default_alias() {
        "/health/cache/clear/".to_string()
    } else {
        // Alias names are `[a-z][a-z0-9_]*`: nothing to escape in a query.
        format!("/health/cache/clear/?alias={}", instance.cache_alias)
    };
    let reply = call(instance, "POST", &path, &[("X-Kovan-Token", &token)]).await?;
    if reply.status == 403 {
        return Err(CacheError::Token {
            instance: instance.name.clone(),
            detail: format!(
                "the running server refused the token in {}: the file changed after the server started. Restart {}, then try again.",
                instance.names.env_file, instance.name
            ),
        });
    }
    let json = answer(instance, &reply)?;
    if let Some(error) = json["error"].as_str() {
        return Err(unexpected(instance, format!("clearing failed: {error}")));
    }
    Ok(json["deleted"].as_u64().unwrap_or(0))
}

/// The instance's KOVAN_TOKEN, from its env file.
fn token(ws: &Workspace, instance: &Instance) -> Result<String, CacheError> {
    let path = ws.project.django_root.join(&instance.names.env_file);
    let missing = |why: &str| {
        CacheError::Token {
        instance: instance.name.clone(),
        detail: format!(
            "{} {why}, so Kovan cannot ask the server to clear its cache. Write the config (kovan gen --write) and restart {}.",
            instance.names.env_file, instance.name
        ),
    }
    };
    let text = std::fs::read_to_string(&path).map_err(|_| missing("cannot be read"))?;
    env_file::parse(&text)
        .remove("KOVAN_TOKEN")
        .filter(|t| !t.is_empty())
        .ok_or_else(|| missing("has no KOVAN_TOKEN"))
}

async fn call(
    instance: &Instance,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
) -> Result<Response, CacheError> {
    http::request(instance.port, method, path, headers)
        .await
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::ConnectionRefused => CacheError::NotRunning {
                instance: instance.name.clone(),
            },
            _ => unexpected(instance, format!("{method} {path}: {e}")),
        })
}

/// The JSON body, from this instance and not from whatever else holds the port.
fn answer(instance: &Instance, reply: &Response) -> Result<Value, CacheError> {
    let json: Value = serde_json::from_str(&reply.body).map_err(|_| {
        unexpected(
            instance,
            format!(
                "HTTP {} without Kovan's JSON. Is this port another program, or the config not written (kovan gen --write)?",
                reply.status
            ),
        )
    })?;
    match json["instance"].as_str() {
        Some(name) if name == instance.name => Ok(json),
        Some(other) => Err(unexpected(
            instance,
            format!("the port is answered by {other}, not {}", instance.name),
        )),
        None => Err(unexpected(
            instance,
            format!("HTTP {}: {}", reply.status, reply.body.trim()),
        )),
    }
}

fn unexpected(instance: &Instance, detail: String) -> CacheError {
    CacheError::Health {
        instance: instance.name.clone(),
        port: instance.port,
        detail,
    }
}
