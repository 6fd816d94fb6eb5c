//! Colours, and when text in one cannot be told apart from the background behind it.
//!
//! Same-colour text is the oldest way to hide words from a reader and leave them for a
//! machine: white on white in a mail, white runs in a Word résumé. HTML and Office documents
//! both come down to comparing an RGB text colour with an RGB background.

/// A colour with its opacity (alpha 0 = fully transparent, 1 = opaque).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) struct Rgba {
    pub(super) rgb: [u8; 3],
    pub(super) alpha: f32,
}

impl Rgba {
    pub(super) const BLACK: Rgba = Rgba {
        rgb: [0, 0, 0],
        alpha: 1.0,
    };
    pub(super) const WHITE: Rgba = Rgba {
        rgb: [255, 255, 255],
        alpha: 1.0,
    };

    /// Whether text in this colour on `background` is indistinguishable from it: each channel
    /// within a few steps, so `#fefefe` on white is as invisible as `#ffffff`.
    pub(super) fn blends_into(self, background: [u8; 3]) -> bool {
        const INDISTINGUISHABLE: u8 = 12;
        self.rgb
            .iter()
            .zip(background)
            .all(|(text, back)| text.abs_diff(back) <= INDISTINGUISHABLE)
    }

    /// `rgb`, `rgba`, `rrggbb` or `rrggbbaa` in hex digits (no `#`), as CSS and Office write
    /// colours.
    pub(super) fn from_hex(hex: &str) -> Option<Rgba> {
        if !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return None;
        }
        let digit = |index: usize| {
            u8::from_str_radix(&hex[index..=index], 16)
                .ok()
                .map(|d| d * 17)
        };
        let pair = |index: usize| u8::from_str_radix(&hex[index..index + 2], 16).ok();
        let (rgb, alpha) = match hex.len() {
            3 | 4 => (
                [digit(0)?, digit(1)?, digit(2)?],
                if hex.len() == 4 { digit(3)? } else { 255 },
            ),
            6 | 8 => (
                [pair(0)?, pair(2)?, pair(4)?],
                if hex.len() == 8 { pair(6)? } else { 255 },
            ),
            _ => return None,
        };
        Some(Rgba {
            rgb,
            alpha: f32::from(alpha) / 255.0,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_colours_in_every_length() {
        assert_eq!(Rgba::from_hex("fff"), Some(Rgba::WHITE));
        assert_eq!(Rgba::from_hex("FFFFFF"), Some(Rgba::WHITE));
        assert_eq!(Rgba::from_hex("000000ff"), Some(Rgba::BLACK));
        assert_eq!(Rgba::from_hex("0000").map(|c| c.alpha), Some(0.0));
        assert_eq!(Rgba::from_hex("12345"), None);
        assert_eq!(Rgba::from_hex("ggg"), None);
        assert_eq!(Rgba::from_hex("éé"), None);
    }

    #[test]
    fn near_identical_colours_blend() {
        assert!(
            Rgba::from_hex("fefefe")
                .unwrap()
                .blends_into([255, 255, 255])
        );
        assert!(
            !Rgba::from_hex("eeeeee")
                .unwrap()
                .blends_into([255, 255, 255])
        );
        assert!(!Rgba::BLACK.blends_into([255, 255, 255]));
    }
}
