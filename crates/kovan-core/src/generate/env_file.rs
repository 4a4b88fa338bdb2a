//! `.env.{name}` files: values quoted so that python-dotenv, django-environ, POSIX `set -a; . file`,
//! honcho and overmind (godotenv) all read back the same string; secrets from the OS CSPRNG.

use std::collections::HashMap;

/// Its name holds PASS, so Django's error pages mask it too.
pub const ENV_PASSWORD: &str = "KOVAN_DATABASE_PASSWORD";

/// Django's own secret-key alphabet (`get_random_secret_key`).
const SECRET_ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789!@#$%^&*(-_=+)";
const TOKEN_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
pub const SECRET_LEN: usize = 50;
pub const TOKEN_LEN: usize = 43;

/// Why a value cannot be written so that every reader agrees on it.
pub fn unquotable(value: &str) -> Option<&'static str> {
    if value.contains('\'') {
        Some("holds a single quote")
    } else if value.contains('\\') {
        Some("holds a backslash")
    } else if value.contains(['\n', '\r', '\0']) {
        Some("holds a line break or NUL")
    } else if value.starts_with('$') {
        // django-environ reads a value starting with `$` as a reference to another variable.
        Some("starts with `$`")
    } else {
        None
    }
}

/// `KEY='value'`: single quotes are literal for every reader (no `$` expansion, no `#` comment).
/// The caller checks [`unquotable`] first.
pub fn line(key: &str, value: &str) -> String {
    debug_assert!(unquotable(value).is_none(), "{key}");
    format!("{key}='{value}'\n")
}

/// Read the variables of an env file in the dialects Kovan writes and users commonly edit to:
/// `KEY=value`, `export KEY=value`, single or double quotes, `#` comments.
pub fn parse(text: &str) -> HashMap<String, String> {
    parse_pairs(text).into_iter().collect()
}

/// [`parse`], keeping the file's order (a later line for the same key wins, as in a shell).
pub fn parse_pairs(text: &str) -> Vec<(String, String)> {
    let mut vars: Vec<(String, String)> = Vec::new();
    for raw in text.lines() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let line = line.strip_prefix("export ").unwrap_or(line);
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = value.trim();
        let value = if let Some(inner) = value.strip_prefix('\'').and_then(|v| v.strip_suffix('\''))
        {
            inner.to_string()
        } else if let Some(inner) = value.strip_prefix('"').and_then(|v| v.strip_suffix('"')) {
            inner.replace("\\\"", "\"").replace("\\\\", "\\")
        } else {
            // Unquoted: a ` #` starts a comment, as in python-dotenv.
            value.split(" #").next().unwrap_or("").trim().to_string()
        };
        let key = key.trim().to_string();
        vars.retain(|(k, _)| *k != key);
        vars.push((key, value));
    }
    vars
}

/// Variables whose values are never shown.
const SECRET_KEYS: [&str; 3] = ["SECRET_KEY", "KOVAN_TOKEN", ENV_PASSWORD];

/// The env file with secrets masked and passwords in URLs replaced, for previews and diffs.
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        let trimmed = line
            .trim_start()
            .strip_prefix("export ")
            .unwrap_or(line.trim_start());
        let key = trimmed.split_once('=').map(|(k, _)| k.trim());
        let value = key.and_then(|k| parse(trimmed).remove(k));
        match (key, value) {
            (Some(k), Some(v)) if SECRET_KEYS.contains(&k) => {
                out.push_str(&format!(
                    "{k}='{}' ({} characters, hidden)\n",
                    crate::redact::MASK,
                    v.chars().count()
                ));
            }
            (Some(k), Some(v)) if v.contains("://") => match url::Url::parse(&v) {
                Ok(url) if url.password().is_some() => {
                    out.push_str(&format!("{k}='{}'\n", crate::redact::url(&url)));
                }
                _ => out.push_str(line),
            },
            _ => out.push_str(line),
        }
    }
    out
}

/// A random string from `alphabet`, uniformly (rejection sampling), first character alphanumeric
/// so no reader takes it for a reference or an option.
pub fn random(alphabet: &[u8], len: usize) -> String {
    let mut out = String::with_capacity(len);
    let limit = 256 - 256 % alphabet.len();
    let mut buf = [0u8; 64];
    while out.len() < len {
        getrandom::fill(&mut buf).expect("the OS random number generator is unavailable");
        for &b in &buf {
            if usize::from(b) >= limit {
                continue;
            }
            let c = alphabet[usize::from(b) % alphabet.len()];
            if out.is_empty() && !c.is_ascii_alphanumeric() {
                continue;
            }
            out.push(char::from(c));
            if out.len() == len {
                break;
            }
        }
    }
    out
}

pub fn new_secret_key() -> String {
    random(SECRET_ALPHABET, SECRET_LEN)
}

pub fn new_token() -> String {
    random(TOKEN_ALPHABET, TOKEN_LEN)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_are_long_varied_and_safe_to_quote() {
        let a = new_secret_key();
        let b = new_secret_key();
        assert_eq!(a.len(), SECRET_LEN);
        assert_ne!(a, b);
        assert!(unquotable(&a).is_none() && unquotable(&new_token()).is_none());
        assert!(a.bytes().all(|c| SECRET_ALPHABET.contains(&c)));
        assert!(new_token().bytes().all(|c| TOKEN_ALPHABET.contains(&c)));
    }

    #[test]
    fn what_kovan_writes_parses_back() {
        let value = "a$b #c \"d\" e=f";
        let text = format!("# comment\n{}", line("SECRET_KEY", value));
        assert_eq!(parse(&text)["SECRET_KEY"], value);
        let edited = "export A=\"x \\\"y\\\"\"\nB=plain # note\nC='lit $HOME'\n";
        let vars = parse(edited);
        assert_eq!(
            (vars["A"].as_str(), vars["B"].as_str(), vars["C"].as_str()),
            ("x \"y\"", "plain", "lit $HOME")
        );
    }

    #[test]
    fn previews_hide_secrets_and_passwords() {
        let text = "# c\nSECRET_KEY='abc$def'\nKOVAN_TOKEN='tok'\nKOVAN_CACHE_SECRET_URL='redis://u:pw@127.0.0.1:6379/0'\nKOVAN_DATABASE_PASSWORD='pgpw'\nX='1'\n";
        let shown = redact(text);
        assert!(
            !shown.contains("abc$def")
                && !shown.contains("tok'")
                && !shown.contains(":pw@")
                && !shown.contains("pgpw"),
            "{shown}"
        );
        assert!(
            shown.contains("SECRET_KEY='***' (7 characters, hidden)")
                && shown.contains("redis://u:***@127.0.0.1:6379/0")
                && shown.contains("X='1'"),
            "{shown}"
        );
    }

    #[test]
    fn values_no_reader_agrees_on_are_refused() {
        for bad in ["it's", "a\\b", "a\nb", "$OTHER"] {
            assert!(unquotable(bad).is_some(), "{bad:?}");
        }
    }
}
