//! Invite codes: 120 random bits shown as base32 in groups of four.

const ALPHABET: &[u8; 32] = b"ABCDEFGHJKLMNPQRSTUVWXYZ23456789"; // pragma: allowlist secret (an alphabet, not a credential)

/// Formats 15 random bytes as `XXXX-XXXX-XXXX-XXXX-XXXX-XXXX`.
pub fn format(raw: &[u8; 15]) -> String {
    let mut bits = 0u32;
    let mut n = 0;
    let mut chars = Vec::with_capacity(24);
    for b in raw {
        bits = (bits << 8) | u32::from(*b);
        n += 8;
        while n >= 5 {
            n -= 5;
            chars.push(ALPHABET[((bits >> n) & 31) as usize]);
        }
    }
    chars
        .chunks(4)
        .map(|c| String::from_utf8_lossy(c).into_owned())
        .collect::<Vec<_>>()
        .join("-")
}

#[cfg(test)]
mod tests {
    #[test]
    fn codes_are_grouped_and_distinct() {
        let a = super::format(&[0; 15]);
        let b = super::format(&[1; 15]);
        assert_eq!(a, "AAAA-AAAA-AAAA-AAAA-AAAA-AAAA");
        assert_ne!(a, b);
        assert_eq!(b.len(), 29);
    }
}
