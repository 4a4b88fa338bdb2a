//! Which instance a Redis key belongs to, decided on the key's bytes.
//!
//! Django's RedisCache writes `{KEY_PREFIX}:{version}:{key}`. A key belongs to the instance whose
//! prefix followed by `:` starts it. Workspace validation refuses two prefixes where one is the other
//! followed by `:`, so at most one instance matches any key.
//!
//! A site's members share one Channels layer (channels_redis with the site's `prefix`) on the same
//! database. channels_redis writes `{prefix}:group:{group}` and `{prefix}{channel}` (a process's
//! channels as their non-local part, `{prefix}specific.{hex}!`): no `:` after the prefix but the
//! group's, so no such key is ever `{cache prefix}:…` (validation refuses a cache prefix equal to
//! another unit's channel prefix). Those keys are counted apart, per site, and no flush takes them:
//! [`Prefixes::owner`] never answers for them.

/// What Django's cache session backends put after `{prefix}:{version}:`; `cached_db` keys
/// (`django.contrib.sessions.cached_db…`) start with it too.
const SESSION_MARK: &[u8] = b"django.contrib.sessions.cache";

/// The characters Redis' glob matcher treats specially.
const GLOB_SPECIAL: &[u8] = b"*?[]\\";

/// The instances whose keys are looked for, each as `{prefix}:`.
#[derive(Debug, Clone)]
pub struct Prefixes {
    starts: Vec<Vec<u8>>,
    /// Channel-layer prefixes (channels_redis `prefix`), each as written: counted, never owned.
    channels: Vec<Vec<u8>>,
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
            channels: Vec::new(),
        }
    }

    /// These prefixes, and channel-layer prefixes whose keys the count attributes to their layer.
    pub fn with_channels<'a>(mut self, channels: impl IntoIterator<Item = &'a str>) -> Self {
        self.channels = channels
            .into_iter()
            .map(|p| p.as_bytes().to_vec())
            .collect();
        self
    }

    /// How many channel-layer prefixes there are.
    pub fn channel_len(&self) -> usize {
        self.channels.len()
    }

    /// The channel layer (its index in [`Prefixes::with_channels`]) that wrote `key`: a key of
    /// channels_redis's shapes after its prefix. Where two prefixes could have written it (one
    /// prefix the start of the other), the longer one. Asked only of keys no cache prefix owns.
    pub fn channel_owner(&self, key: &[u8]) -> Option<usize> {
        self.channels
            .iter()
            .enumerate()
            .filter(|(_, p)| key.strip_prefix(p.as_slice()).is_some_and(is_channel_key))
            .max_by_key(|(_, p)| p.len())
            .map(|(index, _)| index)
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

/// What channels_redis (4.x, `core.py`) writes after its prefix: `_group_key` is
/// `{prefix}:group:{group}`; a message goes to `{prefix}{channel}`, a process's own channel
/// (`specific.{hex}!{hex}`) to `{prefix}` and its non-local part up to and with the `!`. Names are
/// as Channels validates them: a group `[a-zA-Z0-9-_.]+`, a channel that with an optional
/// `!`-tail of `[\w-_.]` (`\w` takes non-ASCII letters too, here any byte above 0x7f).
fn is_channel_key(rest: &[u8]) -> bool {
    let name_byte = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.');
    if let Some(group) = rest.strip_prefix(b":group:") {
        return !group.is_empty() && group.iter().all(name_byte);
    }
    let (name, tail) = match rest.iter().position(|&b| b == b'!') {
        Some(at) => (&rest[..at], Some(&rest[at + 1..])),
        None => (rest, None),
    };
    !name.is_empty()
        && name.iter().all(name_byte)
        && tail.is_none_or(|t| t.iter().all(|b| name_byte(b) || *b > 0x7f))
}

/// After `{prefix}:`: a version (digits), `:`, then the session backends' key prefix.
fn is_session(rest: &[u8]) -> bool {
    after_version(rest).is_some_and(|key| key.starts_with(SESSION_MARK))
}

/// The key as the application wrote it: what follows `{version}:` in what follows `{prefix}:`.
/// None when no numeric version comes first (then the key is not one Django's make_key wrote).
fn after_version(rest: &[u8]) -> Option<&[u8]> {
    let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
    (digits > 0 && rest.get(digits) == Some(&b':')).then(|| &rest[digits + 1..])
}

/// Which of an instance's keys a flush takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    /// Every key under the prefix.
    All,
    /// Every key under the prefix but the cached sessions.
    NotSessions,
    /// Only the cached sessions (`cache` and `cached_db` engines).
    Sessions,
    /// The keys whose part after `{prefix}:{version}:` matches this Redis glob.
    Matching(Vec<u8>),
}

impl Selection {
    /// Whether `key`, already known to belong to `owner`'s prefix, is taken. `start_len` is the
    /// length of that `{prefix}:`.
    pub fn takes(&self, owner: Owner, key: &[u8], start_len: usize) -> bool {
        match self {
            Self::All => true,
            Self::NotSessions => !owner.session,
            Self::Sessions => owner.session,
            Self::Matching(glob) => {
                after_version(&key[start_len..]).is_some_and(|tail| glob_matches(glob, tail))
            }
        }
    }

    /// What a `SCAN MATCH` adds after the shared `{prefix}:` start to narrow the pass: only ever a
    /// literal of ours (the user's glob is checked here, on the key's bytes, never trusted to the
    /// server).
    fn narrowing(&self) -> &'static [u8] {
        match self {
            Self::Sessions => b"*:django.contrib.sessions.cache*",
            _ => b"*",
        }
    }
}

impl Prefixes {
    /// The length of instance `index`'s `{prefix}:`.
    pub fn start_len(&self, index: usize) -> usize {
        self.starts[index].len()
    }

    /// The instance `key` belongs to when `selection` takes it.
    pub fn selected(&self, selection: &Selection, key: &[u8]) -> Option<Owner> {
        self.owner(key)
            .filter(|o| selection.takes(*o, key, self.start_len(o.index)))
    }

    /// [`Prefixes::scan_pattern`] narrowed for `selection` where that is exact: with one prefix,
    /// `{prefix}:*:django.contrib.sessions.cache*` for the sessions.
    pub fn scan_pattern_for(&self, selection: &Selection) -> Option<Vec<u8>> {
        if self.starts.len() == 1 {
            let mut pattern = escape_glob(&self.starts[0]);
            pattern.extend_from_slice(selection.narrowing());
            return Some(pattern);
        }
        self.scan_pattern()
    }
}

/// Redis' own glob matching, ported from `stringmatchlen` (util.c): `*`, `?`, `[abc]`, `[^a-z]`,
/// `\x`, on bytes, with its handling of a class left open or a `\` at the end. The same bytes match
/// here exactly when `SCAN MATCH` would match them.
pub fn glob_matches(pattern: &[u8], text: &[u8]) -> bool {
    // SCAN and KEYS take a lone `*` as "every key" before matching, the empty key included.
    if pattern == b"*" {
        return true;
    }
    let mut give_up = false;
    match_from(pattern, text, &mut give_up)
}

fn match_from(pattern: &[u8], text: &[u8], give_up: &mut bool) -> bool {
    // Redis' pattern is NUL-terminated: reading one past its end gives 0.
    let at = |i: usize| pattern.get(i).copied().unwrap_or(0);
    let (mut p, mut t) = (0usize, 0usize);
    while p < pattern.len() && t < text.len() {
        match pattern[p] {
            b'*' => {
                while p < pattern.len() && at(p + 1) == b'*' {
                    p += 1;
                }
                if p + 1 == pattern.len() {
                    return true;
                }
                while t < text.len() {
                    if match_from(&pattern[p + 1..], &text[t..], give_up) {
                        return true;
                    }
                    // A later `*` already ran out of text: longer tries cannot do better.
                    if *give_up {
                        return false;
                    }
                    t += 1;
                }
                *give_up = true;
                return false;
            }
            b'?' => t += 1,
            b'[' => {
                p += 1;
                let not = at(p) == b'^';
                if not {
                    p += 1;
                }
                let mut matched = false;
                loop {
                    let left = pattern.len() - p;
                    if at(p) == b'\\' && left >= 2 {
                        p += 1;
                        matched |= pattern[p] == text[t];
                    } else if at(p) == b']' {
                        break;
                    } else if left == 0 {
                        // A class left open: back onto its last byte.
                        p -= 1;
                        break;
                    } else if left >= 3 && at(p + 1) == b'-' {
                        let (a, b) = (pattern[p], pattern[p + 2]);
                        let (low, high) = if a > b { (b, a) } else { (a, b) };
                        p += 2;
                        matched |= (low..=high).contains(&text[t]);
                    } else {
                        matched |= pattern[p] == text[t];
                    }
                    p += 1;
                }
                if matched == not {
                    return false;
                }
                t += 1;
            }
            c => {
                let c = if c == b'\\' && pattern.len() - p >= 2 {
                    p += 1;
                    pattern[p]
                } else {
                    c
                };
                if c != text[t] {
                    return false;
                }
                t += 1;
            }
        }
        p += 1;
        if t == text.len() {
            while at(p) == b'*' {
                p += 1;
            }
            break;
        }
    }
    p == pattern.len() && t == text.len()
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
    fn channel_layer_keys_of_channels_redis_shapes_belong_to_their_layer_never_to_a_cache() {
        let p = Prefixes::new(["t_chat_main", "t_chat_api", "t_review"])
            .with_channels(["t_chat", "t_chatx"]);
        let layer = |k: &[u8]| p.channel_owner(k);
        let cache = |k: &[u8]| p.owner(k).map(|o| o.index);
        for key in [
            &b"t_chat:group:room_lobby"[..],
            b"t_chatspecific.0f3a9c!",
            b"t_chatchat.room-1",
            b"t_chatspecific.a!b\xc3\xa9",
        ] {
            assert_eq!(layer(key), Some(0), "{key:?}");
            assert_eq!(cache(key), None, "{key:?}");
        }
        assert_eq!(layer(b"t_chatx:group:r"), Some(1), "the longer prefix");
        assert_eq!(layer(b"t_chatxspecific.a!"), Some(1), "the longer prefix");
        // Cache keys of the members are theirs, not the layer's.
        assert_eq!(layer(b"t_chat_main:1:x"), None);
        assert_eq!(cache(b"t_chat_main:1:x"), Some(0));
        // Not of channels_redis's shapes.
        for key in [
            &b"t_chat"[..],
            b"t_chat:group:",
            b"t_chat:group:a b",
            b"t_chat:1:x",
            b"t_chat!x",
            b"t_chatroom:x",
            b"t_chat room",
            b"other:group:x",
        ] {
            assert_eq!(layer(key), None, "{key:?}");
        }
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
    fn globs_match_as_redis_matches_them() {
        let yes = |p: &[u8], t: &[u8]| assert!(glob_matches(p, t), "{p:?} {t:?}");
        let no = |p: &[u8], t: &[u8]| assert!(!glob_matches(p, t), "{p:?} {t:?}");
        yes(
            b"views.decorators.cache.*",
            b"views.decorators.cache.cache_page.x",
        );
        no(b"views.decorators.cache.*", b"views.decorators.cacheX");
        yes(b"*", b"");
        no(b"**", b"");
        yes(b"a?c", b"abc");
        yes(b"[^a-c]x", b"dx");
        no(b"[^a-c]x", b"bx");
        yes(b"[c-a]", b"b");
        yes(b"\\*", b"*");
        no(b"\\*", b"x");
        no(b"a[", b"a["); // a class left open matches nothing, in Redis too
        yes(b"*\xff", b"\n\xff");
        no(b"a", b"ab");
    }

    #[test]
    fn a_selection_takes_only_its_keys_of_the_prefix() {
        let p = Prefixes::new(["p"]);
        let takes = |s: &Selection, k: &[u8]| p.selected(s, k).is_some();
        let session = b"p:1:django.contrib.sessions.cacheabc";
        assert!(takes(&Selection::Sessions, session));
        assert!(!takes(&Selection::NotSessions, session));
        assert!(takes(
            &Selection::NotSessions,
            b"p:x:django.contrib.sessions.cacheabc"
        ));
        let all = Selection::Matching(b"*".to_vec());
        assert!(takes(&all, b"p:2:anything"));
        assert!(!takes(&all, b"p:anything"), "no version");
        assert!(!takes(&all, b"q:1:anything"), "another prefix");
        assert_eq!(
            Prefixes::new(["a*"]).scan_pattern_for(&Selection::Sessions),
            Some(b"a\\*:*:django.contrib.sessions.cache*".to_vec())
        );
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
