//! How Kovan writes text for a terminal: numbers in its English messages, tables and reports (one
//! function, so a count reads the same on stdout and on stderr; the window formats numbers itself,
//! by the user's language), and the control characters a value may carry, shown instead of obeyed.

use std::borrow::Cow;

/// 1234567 as "1,234,567": digits grouped by three with commas, the English way.
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `text` with every control character except newline and tab written as an escape (`\u{1b}`),
/// so a value from a file or a process (`settings = "\u001b]0;PWNED\u0007"`) cannot retitle,
/// recolour or clear the terminal it is printed on.
pub fn printable(text: &str) -> Cow<'_, str> {
    let shown = |c: char| !c.is_control() || c == '\n' || c == '\t';
    if text.chars().all(shown) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if shown(c) {
            out.push(c);
        } else {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::{grouped, printable};

    #[test]
    fn control_characters_are_shown_not_obeyed() {
        assert_eq!(printable("plain: ş, ğ, 🙂\n\tok"), "plain: ş, ğ, 🙂\n\tok");
        assert_eq!(
            printable("`\u{1b}]0;PWNED\u{7}` and \r\u{8}\u{7f}\u{9b}"),
            "`\\u{1b}]0;PWNED\\u{7}` and \\u{d}\\u{8}\\u{7f}\\u{9b}"
        );
    }

    #[test]
    fn groups_digits_by_three_with_commas() {
        assert_eq!(grouped(0), "0");
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1234), "1,234");
        assert_eq!(grouped(61635), "61,635");
        assert_eq!(grouped(300_000), "300,000");
        assert_eq!(grouped(1_000_000), "1,000,000");
        assert_eq!(grouped(u64::MAX), "18,446,744,073,709,551,615");
    }
}
