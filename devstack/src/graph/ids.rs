//! Identifiers in the shapes Graph's workloads mint them, derived from what they identify so
//! they stay the same for the same sample data.
//!
//! Clients must treat them as opaque, but their shapes matter: Outlook ids are long base64
//! strings that may contain `-`, `_` and a trailing `=` (so they must be escaped in URLs),
//! OneDrive ids are 34 upper-case characters starting with `01`.

use aws_lc_rs::digest;

use crate::keys::base64url;

fn hash(parts: &[&str]) -> Vec<u8> {
    let mut context = digest::Context::new(&digest::SHA256);
    for part in parts {
        context.update(part.as_bytes());
        context.update(b"\0");
    }
    context.finish().as_ref().to_vec()
}

/// An Outlook item id (`AAMkAD…=`), 152 characters like Exchange's.
pub fn outlook(parts: &[&str]) -> String {
    let first = hash(parts);
    let second = hash(&[&base64url(&first)]);
    let body: String = base64url([first, second].concat())
        .chars()
        .take(70)
        .collect();
    let tail: String = base64url([hash(&[&body]), hash(&[&body, "tail"])].concat())
        .chars()
        .take(76)
        .collect();
    format!("AAMkAD{body}{tail}=")
}

/// A short opaque value: change keys, etags, conversation ids.
pub fn short(parts: &[&str]) -> String {
    base64url(hash(parts)).chars().take(24).collect()
}

/// A OneDrive item id: `01` and 32 characters of base32.
pub fn drive_item(parts: &[&str]) -> String {
    const ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let id: String = hash(parts)
        .iter()
        .take(32)
        .map(|byte| char::from(ALPHABET[usize::from(byte % 32)]))
        .collect();
    format!("01{id}")
}

/// A GUID-shaped value (iCalUId tails, SharePoint unique ids).
pub fn guid(parts: &[&str]) -> String {
    let hex: String = hash(parts).iter().map(|b| format!("{b:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_distinct_and_shaped_like_graphs() {
        let id = outlook(&["adele", "message", "1"]);
        assert_eq!(id, outlook(&["adele", "message", "1"]));
        assert_ne!(id, outlook(&["adele", "message", "2"]));
        assert!(id.starts_with("AAMkAD") && id.ends_with('='));
        assert_eq!(id.len(), 153);

        let item = drive_item(&["adele", "Notes.txt"]);
        assert_eq!(item.len(), 34);
        assert!(item.starts_with("01"));
        assert!(
            item.chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        );

        assert!(uuid::Uuid::parse_str(&guid(&["x"])).is_ok());
        assert_eq!(short(&["x"]).len(), 24);
    }
}
