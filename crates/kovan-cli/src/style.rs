//! When `kovan` may colour its output: stdout is a terminal and NO_COLOR (https://no-color.org) is
//! unset or empty. One rule for every command.

use std::ffi::OsString;
use std::io::IsTerminal;

pub fn colour() -> bool {
    colour_for(
        std::io::stdout().is_terminal(),
        std::env::var_os("NO_COLOR"),
    )
}

/// NO_COLOR unset or empty: for a terminal other than stdout (usage errors on stderr).
pub fn colour_allowed() -> bool {
    colour_for(true, std::env::var_os("NO_COLOR"))
}

fn colour_for(terminal: bool, no_color: Option<OsString>) -> bool {
    terminal && no_color.is_none_or(|v| v.is_empty())
}

/// `text` in the ANSI colour `code` when colour is on.
pub fn paint(on: bool, code: &str, text: &str) -> String {
    if on {
        format!("\x1b[{code}m{text}\x1b[0m")
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::colour_for;

    #[test]
    fn only_on_a_terminal_and_without_no_color() {
        assert!(colour_for(true, None));
        assert!(
            colour_for(true, Some("".into())),
            "an empty NO_COLOR is unset"
        );
        assert!(!colour_for(true, Some("1".into())));
        assert!(!colour_for(false, None));
    }
}
