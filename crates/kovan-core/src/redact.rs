//! Passwords out of what Kovan shows: every URL in the window, the CLI, previews, logs and errors
//! passes through here before it is shown.

/// What a password is replaced by.
pub const MASK: &str = "***";

/// `url` as text with its password, if any, replaced by [`MASK`].
pub fn url(url: &url::Url) -> String {
    let mut shown = url.clone();
    if shown.password().is_some() {
        let _ = shown.set_password(Some(MASK));
    }
    shown.to_string()
}

/// Text that may be a URL, with its password replaced; text without a password is returned as it
/// is. Text that does not parse as a URL may still hold a password between `:` and `@`: that is
/// replaced too.
pub fn url_text(text: &str) -> String {
    match url::Url::parse(text) {
        Ok(parsed) if parsed.password().is_some() => self::url(&parsed),
        Ok(_) => text.to_string(),
        Err(_) => unparsed(text),
    }
}

fn unparsed(url: &str) -> String {
    // A URL that failed to parse may still hold a password between `:` and `@`.
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.find(':') {
                Some(c) => format!("{}{}:{MASK}{}", &url[..s + 3], &creds[..c], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords_in_locations() {
        assert_eq!(
            url_text("redis://:secret@127.0.0.1:6379/1"),
            "redis://:***@127.0.0.1:6379/1"
        );
        assert_eq!(url_text("/var/tmp/django_cache"), "/var/tmp/django_cache");
    }
}
