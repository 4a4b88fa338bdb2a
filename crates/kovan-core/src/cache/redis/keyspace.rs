//! Which instance a Redis key belongs to, decided on the key's bytes.
//!
//! Django's RedisCache writes `{KEY_PREFIX}:{version}:{key}`. A key belongs to the instance whose
//! prefix followed by `:` starts it. Workspace validation refuses two prefixes where one is the other
//! followed by `:`, so at most one instance matches any key.

/// What Django's cache session backends put after `{prefix}:{version}:`; `cached_db` keys
/// (`django.contrib.sessions.cached_db…`) start with it too.
const SESSION_MARK: &[u8] = b"django.contrib.sessions.cache";

/// The characters Redis' glob matcher treats specially.
const GLOB_SPECIAL: &[u8] = b"*?[]\\";

/// The instances whose keys are looked for, each as `{prefix}:`.
#[derive(Debug, Clone)]
pub struct Prefixes {
    starts: Vec<Vec<u8>>,
}

/// Where a key belongs: the instance's index in [`Prefixes`], and whether it is a cached session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Owner {
    pub index: usize,
    pub session: bool,
}

impl Prefixes {
    pub fn new<'a>(prefixes: impl IntoIterator<Item = &'a str>) -> Self {
        Self {
            starts: prefixes
                .into_iter()
                .map(|p| {
                    let mut start = p.as_bytes().to_vec();
                    start.push(b':');
                    start
                })
                .collect(),
        }
    }

    pub fn len(&self) -> usize {
        self.starts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.starts.is_empty()
    }

    /// The instance whose `{prefix}:` starts `key`, if any.
    pub fn owner(&self, key: &[u8]) -> Option<Owner> {
        self.starts.iter().enumerate().find_map(|(index, start)| {
            key.strip_prefix(start.as_slice()).map(|rest| Owner {
                index,
                session: is_session(rest),
            })
        })
    }

    /// The narrowest `SCAN MATCH` pattern that covers every prefix's keys: the bytes all their
    /// `{prefix}:` starts share, glob characters escaped, then `*`. For one prefix that is exactly
    /// `{prefix}:*`. None when they share nothing (then SCAN without MATCH). Narrowing only spares
    /// the server replying with keys that are not ours; [`Prefixes::owner`] still decides.
    pub fn scan_pattern(&self) -> Option<Vec<u8>> {
        let first = self.starts.first()?;
        let shared = self.starts[1..].iter().fold(first.len(), |len, start| {
            first[..len]
                .iter()
                .zip(start)
                .take_while(|(a, b)| a == b)
                .count()
        });
        (shared > 0).then(|| {
            let mut pattern = escape_glob(&first[..shared]);
            pattern.push(b'*');
            pattern
        })
    }
}

/// After `{prefix}:`: a version (digits), `:`, then the session backends' key prefix.
fn is_session(rest: &[u8]) -> bool {
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    digits > 0 && rest.get(digits) == Some(&b':') && rest[digits + 1..].starts_with(SESSION_MARK)
}

/// `bytes` as a literal inside a Redis glob pattern.
pub fn escape_glob(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len() + 4);
    for &b in bytes {
        if GLOB_SPECIAL.contains(&b) {
            out.push(b'\\');
        }
        out.push(b);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_belongs_to_the_prefix_followed_by_a_colon() {
        let p = Prefixes::new(["chat", "chat_main", "a*b"]);
        let owner = |k: &[u8]| p.owner(k).map(|o| o.index);
        assert_eq!(owner(b"chat:1:x"), Some(0));
        assert_eq!(owner(b"chat_main:1:x"), Some(1));
        assert_eq!(owner(b"chat_main_2:1:x"), None);
        assert_eq!(owner(b"chat"), None);
        assert_eq!(owner(b"a*b:\xff\n"), Some(2));
        assert_eq!(owner(b"axb:1:x"), None);
    }

    #[test]
    fn sessions_have_a_numeric_version_then_the_session_prefix() {
        let p = Prefixes::new(["p"]);
        let session = |k: &[u8]| p.owner(k).is_some_and(|o| o.session);
        assert!(session(b"p:1:django.contrib.sessions.cacheabc"));
        assert!(session(b"p:42:django.contrib.sessions.cached_dbabc"));
        assert!(!session(b"p::django.contrib.sessions.cacheabc"));
        assert!(!session(b"p:v1:django.contrib.sessions.cacheabc"));
        assert!(!session(b"p:1:x:django.contrib.sessions.cache"));
    }

    #[test]
    fn patterns_escape_every_glob_character_and_cover_every_prefix() {
        let one = Prefixes::new(["a*b?c[d]e\\f"]);
        assert_eq!(
            one.scan_pattern(),
            Some(b"a\\*b\\?c\\[d\\]e\\\\f:*".to_vec())
        );
        let trio = Prefixes::new(["context7_chat_main", "context7_chat_api", "context7_chat"]);
        assert_eq!(trio.scan_pattern(), Some(b"context7_chat*".to_vec()));
        assert_eq!(Prefixes::new(["a", "b"]).scan_pattern(), None);
        assert_eq!(
            Prefixes::new(["a", "a_b"]).scan_pattern(),
            Some(b"a*".to_vec())
        );
    }
}
