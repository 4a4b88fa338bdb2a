//! How numbers are written in Kovan's English text: core's messages, the CLI's tables and reports.
//! One function, so a count reads the same on stdout and on stderr. (The window formats numbers
//! itself, by the user's language.)

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

#[cfg(test)]
mod tests {
    use super::grouped;

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
