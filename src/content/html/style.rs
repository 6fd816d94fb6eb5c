//! Inline CSS, read only as far as deciding whether text can be seen.
//!
//! Mail is styled inline (`style="…"` on each element), because most mail clients ignore
//! `<style>` sheets; so are the tricks that hide text from the reader while leaving it in the
//! markup. This module reads a `style` attribute into the handful of facts visibility depends
//! on (and the declarations of `<style>` rules, for `sheet`). It is deliberately not a CSS
//! engine: no cascade beyond what visibility needs, no layout.
//!
//! Two policies keep it on the safe side of an attacker:
//!
//! - For properties that hide a whole subtree (`display`, `visibility`, `mso-hide`, tiny
//!   clipped boxes, off-screen positions, transforms that shrink a box to nothing or move it
//!   off the screen, clips with no area) any declaration that hides counts, even if a later
//!   one seems to undo it: a browser would drop a later declaration it finds invalid, and we
//!   do not validate every value the way it does, so "last one wins" could be fooled into
//!   showing hidden text.
//! - For the values that inherit (`color`, `-webkit-text-fill-color`, `background`,
//!   `font-size`, `opacity` and `filter: opacity()`) the cascade
//!   within the attribute is followed (a later valid declaration wins, `!important` beats a
//!   normal one), because containers routinely set `font-size:0` or white text that their
//!   children override; values this module cannot parse are ignored, as browsers ignore
//!   invalid ones.
//!
//! Property names and values are read after CSS escapes (`d\isplay`) and comments are
//! removed, so they cannot be spelled past us.

use crate::content::color::Rgba;

/// A `font-size`, before it is resolved against the parent's size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum FontSize {
    Pixels(f32),
    /// A multiple of the parent's size (`em`, `%`, `smaller`, `larger`).
    Relative(f32),
}

impl FontSize {
    pub(super) fn resolve(self, parent_pixels: f32) -> f32 {
        match self {
            FontSize::Pixels(pixels) => pixels,
            FontSize::Relative(factor) => factor * parent_pixels,
        }
    }
}

/// A background as declared: a colour, or `currentcolor` (the element's own text colour).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Background {
    Color(Rgba),
    CurrentColor,
}

/// What one `style` attribute says about visibility.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub(super) struct InlineStyle {
    /// The element and everything in it cannot be seen.
    pub(super) hides_subtree: bool,
    pub(super) color: Option<Rgba>,
    pub(super) background: Option<Background>,
    pub(super) font_size: Option<FontSize>,
    /// WebKit and Blink paint text in this colour instead of `color` when it is set.
    pub(super) text_fill: Option<Rgba>,
    /// This element's own opacity (it multiplies with its ancestors').
    pub(super) opacity: Option<f32>,
    /// The opacity of `filter: opacity()`, which multiplies with `opacity`.
    pub(super) filter_opacity: Option<f32>,
}

impl InlineStyle {
    /// This style with `later` on top (an inline style on a sheet's, a later rule on an
    /// earlier one): hiding from either counts; an inherited value `later` sets wins.
    pub(super) fn then(self, later: InlineStyle) -> InlineStyle {
        InlineStyle {
            hides_subtree: self.hides_subtree || later.hides_subtree,
            color: later.color.or(self.color),
            background: later.background.or(self.background),
            font_size: later.font_size.or(self.font_size),
            text_fill: later.text_fill.or(self.text_fill),
            opacity: later.opacity.or(self.opacity),
            filter_opacity: later.filter_opacity.or(self.filter_opacity),
        }
    }
}

/// One `property: value` pair, lower-cased, with escapes and comments removed.
struct Declaration {
    property: String,
    value: String,
    important: bool,
}

/// A pixel distance beyond which a box is off the screen of any reader.
const OFF_SCREEN_PIXELS: f32 = -999.0;

/// A box this small or smaller shows nothing of what it clips.
const TINY_BOX_PIXELS: f32 = 1.0;

pub(super) fn parse(style: &str) -> InlineStyle {
    let declarations = declarations(style);
    let mut result = InlineStyle::default();
    // The cascade for inherited values: (value, important) of the winning declaration.
    let mut color: Option<(Rgba, bool)> = None;
    let mut background: Option<(Background, bool)> = None;
    let mut font_size: Option<(FontSize, bool)> = None;
    let mut text_fill: Option<(Rgba, bool)> = None;
    let mut opacity: Option<(f32, bool)> = None;
    let mut filter_opacity: Option<(f32, bool)> = None;
    let mut clips_overflow = false;
    let mut tiny_box = false;
    for Declaration {
        property,
        value,
        important,
    } in &declarations
    {
        let important = *important;
        match property.as_str() {
            "display" if value == "none" => result.hides_subtree = true,
            "visibility" if value == "hidden" || value == "collapse" => result.hides_subtree = true,
            "content-visibility" if value == "hidden" => result.hides_subtree = true,
            // Outlook's own switch for "do not render this".
            "mso-hide" if value == "all" => result.hides_subtree = true,
            "overflow" | "overflow-x" | "overflow-y" => {
                clips_overflow |= value
                    .split_whitespace()
                    .any(|v| v == "hidden" || v == "clip");
            }
            "width" | "height" | "max-width" | "max-height" | "line-height" => {
                tiny_box |= parse_length(value).is_some_and(|length| length.is_tiny());
            }
            "text-indent" | "left" | "top" | "right" | "margin-left" | "margin-top" => {
                let pixels = parse_length(value).and_then(|length| length.absolute_pixels());
                result.hides_subtree |= pixels.is_some_and(|pixels| pixels <= OFF_SCREEN_PIXELS);
            }
            "transform" => result.hides_subtree |= functions(value).any(transform_hides),
            "scale" => result.hides_subtree |= value.split_whitespace().take(2).any(is_zero_scale),
            "translate" => result.hides_subtree |= value.split_whitespace().any(is_off_screen),
            "clip-path" => result.hides_subtree |= functions(value).any(clip_path_hides),
            "clip" => result.hides_subtree |= functions(value).any(clip_hides),
            "-webkit-text-fill-color" => cascade(&mut text_fill, parse_color(value), important),
            "filter" => cascade(&mut filter_opacity, opacity_in_filter(value), important),
            "color" => cascade(&mut color, parse_color(value), important),
            "background-color" => cascade(&mut background, parse_background(value), important),
            "background" => cascade(&mut background, background_in_shorthand(value), important),
            "font-size" => cascade(&mut font_size, parse_font_size(value), important),
            "font" => cascade(&mut font_size, font_size_in_shorthand(value), important),
            "opacity" => cascade(&mut opacity, parse_opacity(value), important),
            _ => {}
        }
    }
    result.hides_subtree |= tiny_box && clips_overflow;
    result.color = color.map(|(value, _)| value);
    result.background = background.map(|(value, _)| value);
    result.font_size = font_size.map(|(value, _)| value);
    result.text_fill = text_fill.map(|(value, _)| value);
    result.opacity = opacity.map(|(value, _)| value);
    result.filter_opacity = filter_opacity.map(|(value, _)| value);
    result
}

/// Each `name(arguments)` in a value that lists functions (`translate(…) scale(…)`), the name
/// lower-cased and the arguments split on commas and whitespace.
fn functions(value: &str) -> impl Iterator<Item = (String, Vec<&str>)> {
    value.split_inclusive(')').filter_map(|call| {
        let (name, rest) = call.split_once('(')?;
        let name = name.split_whitespace().last()?.to_ascii_lowercase();
        let inside = rest.strip_suffix(')')?;
        let arguments = inside
            .split([',', ' ', '\t', '\n'])
            .filter(|part| !part.is_empty())
            .collect();
        Some((name, arguments))
    })
}

/// A scale factor that flattens the box (zero, or so close that nothing can be read).
fn is_zero_scale(factor: &str) -> bool {
    component(factor, 1.0).is_some_and(|factor| factor.abs() < 0.01)
}

/// A shift that puts the box off the screen.
fn is_off_screen(shift: &str) -> bool {
    parse_length(shift)
        .and_then(|length| length.absolute_pixels())
        .is_some_and(|pixels| pixels <= OFF_SCREEN_PIXELS)
}

/// A transform function that shrinks the box to nothing, turns it edge-on, or moves it off
/// the screen.
fn transform_hides((name, arguments): (String, Vec<&str>)) -> bool {
    match name.as_str() {
        "scale" | "scalex" | "scaley" | "scale3d" => {
            arguments.iter().take(2).any(|a| is_zero_scale(a))
        }
        "translate" | "translatex" | "translatey" | "translate3d" => {
            arguments.iter().take(2).any(|a| is_off_screen(a))
        }
        // A plane turned a quarter about an axis in it is seen edge-on.
        "rotatex" | "rotatey" => arguments.first().is_some_and(|angle| {
            angle_degrees(angle)
                .is_some_and(|degrees| (degrees.rem_euclid(180.0) - 90.0).abs() < 1.0)
        }),
        // A matrix that maps the plane onto a line or a point.
        "matrix" => {
            let numbers: Vec<f32> = arguments.iter().filter_map(|a| a.parse().ok()).collect();
            numbers.len() == 6 && (numbers[0] * numbers[3] - numbers[1] * numbers[2]).abs() < 1e-4
        }
        _ => false,
    }
}

fn angle_degrees(angle: &str) -> Option<f32> {
    let (number, per_unit) = if let Some(n) = angle.strip_suffix("deg") {
        (n, 1.0)
    } else if let Some(n) = angle.strip_suffix("grad") {
        (n, 0.9)
    } else if let Some(n) = angle.strip_suffix("rad") {
        (n, 180.0 / std::f32::consts::PI)
    } else if let Some(n) = angle.strip_suffix("turn") {
        (n, 360.0)
    } else if angle == "0" {
        (angle, 1.0)
    } else {
        return None;
    };
    let number: f32 = number.parse().ok()?;
    number.is_finite().then_some(number * per_unit)
}

/// A `clip-path` shape with no area: an inset of half the box or more from opposite sides, a
/// circle or ellipse of radius zero.
fn clip_path_hides((name, arguments): (String, Vec<&str>)) -> bool {
    let percent = |text: &str| -> Option<f32> {
        match text.strip_suffix('%') {
            Some(number) => number.parse().ok(),
            None => parse_length(text)
                .filter(|length| length.number == 0.0)
                .map(|_| 0.0),
        }
    };
    match name.as_str() {
        "inset" => {
            let sides: Vec<f32> = arguments
                .iter()
                .take_while(|a| **a != "round")
                .map_while(|a| percent(a))
                .collect();
            let [top, right, bottom, left] = match sides[..] {
                [all] => [all; 4],
                [vertical, horizontal] => [vertical, horizontal, vertical, horizontal],
                [top, horizontal, bottom] => [top, horizontal, bottom, horizontal],
                [top, right, bottom, left] => [top, right, bottom, left],
                _ => return false,
            };
            top + bottom >= 100.0 || left + right >= 100.0
        }
        "circle" | "ellipse" => arguments
            .iter()
            .take_while(|a| **a != "at")
            .any(|radius| parse_length(radius).is_some_and(|length| length.number == 0.0)),
        _ => false,
    }
}

/// A `clip: rect(top, right, bottom, left)` with no area.
fn clip_hides((name, arguments): (String, Vec<&str>)) -> bool {
    let pixels: Vec<Option<f32>> = arguments
        .iter()
        .map(|a| parse_length(a).and_then(|length| length.absolute_pixels()))
        .collect();
    match (name.as_str(), &pixels[..]) {
        ("rect", [top, right, bottom, left]) => {
            matches!((top, bottom), (Some(top), Some(bottom)) if bottom <= top)
                || matches!((left, right), (Some(left), Some(right)) if right <= left)
        }
        _ => false,
    }
}

/// The product of the `opacity()` functions in a `filter`; `None` when there are none.
fn opacity_in_filter(value: &str) -> Option<f32> {
    functions(value)
        .filter(|(name, _)| name == "opacity")
        .map(|(_, arguments)| {
            arguments
                .first()
                .and_then(|a| parse_opacity(a))
                .unwrap_or(1.0)
        })
        .reduce(|a, b| a * b)
}

/// Keeps the declaration that wins: a later one unless the earlier is `!important` and the
/// later is not.
fn cascade<T>(winner: &mut Option<(T, bool)>, candidate: Option<T>, important: bool) {
    let Some(candidate) = candidate else { return };
    if winner
        .as_ref()
        .is_none_or(|(_, winner_important)| important || !winner_important)
    {
        *winner = Some((candidate, important));
    }
}

fn declarations(style: &str) -> Vec<Declaration> {
    let style = unescape(&strip_comments(style));
    style
        .split(';')
        .filter_map(|declaration| {
            let (property, value) = declaration.split_once(':')?;
            let property = property.trim().to_ascii_lowercase();
            let mut value = value.trim().to_ascii_lowercase();
            let important = match value.rfind('!') {
                Some(bang) if value[bang + 1..].trim() == "important" => {
                    value.truncate(bang);
                    value.truncate(value.trim_end().len());
                    true
                }
                _ => false,
            };
            Some(Declaration {
                property,
                value,
                important,
            })
        })
        .collect()
}

fn strip_comments(style: &str) -> String {
    let mut out = String::with_capacity(style.len());
    let mut rest = style;
    while let Some(start) = rest.find("/*") {
        out.push_str(&rest[..start]);
        // An unterminated comment runs to the end, as in CSS.
        rest = rest[start + 2..]
            .find("*/")
            .map_or("", |end| &rest[start + 2 + end + 2..]);
    }
    out.push_str(rest);
    out
}

/// Resolves CSS escapes: `\` and up to six hex digits (and one optional space) is that code
/// point, `\` before any other character is that character.
fn unescape(style: &str) -> String {
    if !style.contains('\\') {
        return style.to_owned();
    }
    let mut out = String::with_capacity(style.len());
    let mut chars = style.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let mut code = 0u32;
        let mut digits = 0;
        while digits < 6 {
            match chars.peek().and_then(|next| next.to_digit(16)) {
                Some(digit) => {
                    code = code * 16 + digit;
                    digits += 1;
                    chars.next();
                }
                None => break,
            }
        }
        if digits > 0 {
            chars.next_if(|next| next.is_ascii_whitespace());
            out.push(
                char::from_u32(code)
                    .filter(|&c| c != '\0')
                    .unwrap_or('\u{FFFD}'),
            );
        } else if let Some(next) = chars.next() {
            out.push(next);
        }
    }
    out
}

/// A CSS length: a number and its unit (empty for a bare number).
struct Length<'a> {
    number: f32,
    unit: &'a str,
}

impl Length<'_> {
    /// The length in CSS pixels, for units that do not depend on the context.
    fn absolute_pixels(&self) -> Option<f32> {
        let per_unit = match self.unit {
            "px" => 1.0,
            "pt" => 96.0 / 72.0,
            "pc" => 16.0,
            "in" => 96.0,
            "cm" => 96.0 / 2.54,
            "mm" => 96.0 / 25.4,
            "q" => 96.0 / 101.6,
            // A bare zero is a length in any unit.
            "" if self.number == 0.0 => 0.0,
            _ => return None,
        };
        Some(self.number * per_unit)
    }

    /// Zero in any unit, or at most a pixel.
    fn is_tiny(&self) -> bool {
        self.number == 0.0
            || self
                .absolute_pixels()
                .is_some_and(|pixels| pixels <= TINY_BOX_PIXELS)
    }
}

fn parse_length(value: &str) -> Option<Length<'_>> {
    let value = value.trim();
    let numeric_end = value
        .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '+' | '-')))
        .unwrap_or(value.len());
    let number: f32 = value[..numeric_end].parse().ok()?;
    let unit = value[numeric_end..].trim();
    (number.is_finite()
        && (unit.is_empty() || unit == "%" || unit.chars().all(|c| c.is_ascii_alphabetic())))
    .then_some(Length { number, unit })
}

fn parse_font_size(value: &str) -> Option<FontSize> {
    let keyword = match value {
        "xx-small" => Some(FontSize::Pixels(9.0)),
        "x-small" => Some(FontSize::Pixels(10.0)),
        "small" => Some(FontSize::Pixels(13.0)),
        "medium" => Some(FontSize::Pixels(16.0)),
        "large" => Some(FontSize::Pixels(18.0)),
        "x-large" => Some(FontSize::Pixels(24.0)),
        "xx-large" => Some(FontSize::Pixels(32.0)),
        "xxx-large" => Some(FontSize::Pixels(48.0)),
        "smaller" => Some(FontSize::Relative(1.0 / 1.2)),
        "larger" => Some(FontSize::Relative(1.2)),
        _ => None,
    };
    if keyword.is_some() {
        return keyword;
    }
    let length = parse_length(value)?;
    if length.number < 0.0 {
        return None;
    }
    if let Some(pixels) = length.absolute_pixels() {
        return Some(FontSize::Pixels(pixels));
    }
    match length.unit {
        "em" => Some(FontSize::Relative(length.number)),
        "%" => Some(FontSize::Relative(length.number / 100.0)),
        "ex" | "ch" => Some(FontSize::Relative(length.number / 2.0)),
        "rem" => Some(FontSize::Pixels(length.number * super::DEFAULT_FONT_PIXELS)),
        _ => None,
    }
}

/// The size in a `font` shorthand (`font: bold 0/0 a`): the first token, or the part of it
/// before a `/` line height, that reads as a size.
fn font_size_in_shorthand(value: &str) -> Option<FontSize> {
    value
        .split_whitespace()
        .filter_map(|token| token.split('/').next())
        // Font weights (`400`) are bare numbers, sizes never are (except 0).
        .filter(|size| size.chars().any(|c| c.is_ascii_alphabetic() || c == '%') || *size == "0")
        .find_map(parse_font_size)
}

fn parse_opacity(value: &str) -> Option<f32> {
    let (number, scale) = match value.strip_suffix('%') {
        Some(percent) => (percent, 100.0),
        None => (value, 1.0),
    };
    let opacity: f32 = number.trim().parse().ok()?;
    opacity
        .is_finite()
        .then(|| (opacity / scale).clamp(0.0, 1.0))
}

fn parse_background(value: &str) -> Option<Background> {
    if value == "currentcolor" {
        return Some(Background::CurrentColor);
    }
    parse_color(value).map(Background::Color)
}

/// The colour in a `background` shorthand (`#fff url(x.png) no-repeat`), if it names one.
fn background_in_shorthand(value: &str) -> Option<Background> {
    // Colour functions contain spaces, so find them before splitting on whitespace.
    for function in ["rgba(", "rgb(", "hsla(", "hsl("] {
        if let Some(start) = value.find(function)
            && let Some(length) = value[start..].find(')')
        {
            return parse_color(&value[start..=start + length]).map(Background::Color);
        }
    }
    value.split_whitespace().find_map(parse_background)
}

/// A colour as HTML and CSS write it: `#rgb`, `#rgba`, `#rrggbb`, `#rrggbbaa`, `rgb()`,
/// `rgba()`, `hsl()`, `hsla()`, `transparent` or one of the 148 named colours.
pub(super) fn parse_color(value: &str) -> Option<Rgba> {
    let value = value.trim().to_ascii_lowercase();
    if let Some(hex) = value.strip_prefix('#') {
        return Rgba::from_hex(hex);
    }
    if value == "transparent" {
        return Some(Rgba {
            rgb: [0, 0, 0],
            alpha: 0.0,
        });
    }
    if let Some(arguments) = function_arguments(&value, &["rgb", "rgba"]) {
        return parse_rgb(&arguments);
    }
    if let Some(arguments) = function_arguments(&value, &["hsl", "hsla"]) {
        return parse_hsl(&arguments);
    }
    NAMED_COLORS
        .binary_search_by(|(name, _)| name.cmp(&value.as_str()))
        .ok()
        .map(|index| Rgba {
            rgb: NAMED_COLORS[index].1,
            alpha: 1.0,
        })
}

/// A colour in a legacy HTML attribute (`bgcolor`, `<font color>`), where browsers also read
/// hex digits without the `#` (`bgcolor="ffffff"`).
pub(super) fn parse_attribute_color(value: &str) -> Option<Rgba> {
    let value = value.trim();
    parse_color(value).or_else(|| {
        matches!(value.len(), 3 | 6)
            .then(|| Rgba::from_hex(value))
            .flatten()
    })
}

/// The arguments of `name(…)` for one of `names`, split on commas, whitespace and `/`.
fn function_arguments<'a>(value: &'a str, names: &[&str]) -> Option<Vec<&'a str>> {
    let (name, rest) = value.split_once('(')?;
    let inside = rest.trim_end().strip_suffix(')')?;
    names.contains(&name.trim()).then(|| {
        inside
            .split([',', ' ', '/', '\t', '\n'])
            .filter(|part| !part.is_empty())
            .collect()
    })
}

/// A number, or a percentage of `full`.
fn component(text: &str, full: f32) -> Option<f32> {
    let (number, scale) = match text.strip_suffix('%') {
        Some(percent) => (percent, full / 100.0),
        None => (text, 1.0),
    };
    let number: f32 = number.parse().ok()?;
    number.is_finite().then_some(number * scale)
}

fn alpha_component(arguments: &[&str]) -> Option<f32> {
    match arguments.get(3) {
        Some(alpha) => component(alpha, 1.0).map(|alpha| alpha.clamp(0.0, 1.0)),
        None => Some(1.0),
    }
}

fn parse_rgb(arguments: &[&str]) -> Option<Rgba> {
    if !(3..=4).contains(&arguments.len()) {
        return None;
    }
    // `as u8` after clamping: CSS clamps out-of-range channels rather than rejecting them.
    let channel = |index: usize| {
        component(arguments[index], 255.0).map(|value| value.round().clamp(0.0, 255.0) as u8)
    };
    Some(Rgba {
        rgb: [channel(0)?, channel(1)?, channel(2)?],
        alpha: alpha_component(arguments)?,
    })
}

fn parse_hsl(arguments: &[&str]) -> Option<Rgba> {
    if !(3..=4).contains(&arguments.len()) {
        return None;
    }
    let hue = arguments[0]
        .trim_end_matches("deg")
        .parse::<f32>()
        .ok()
        .filter(|h| h.is_finite())?;
    let saturation = (component(arguments[1], 1.0)?).clamp(0.0, 1.0);
    let lightness = (component(arguments[2], 1.0)?).clamp(0.0, 1.0);
    // CSS Color 4, "Converting HSL colors to sRGB colors".
    let channel = |n: f32| {
        let k = (n + hue.rem_euclid(360.0) / 30.0) % 12.0;
        let a = saturation * lightness.min(1.0 - lightness);
        let value = lightness - a * (k - 3.0).min(9.0 - k).clamp(-1.0, 1.0);
        (value * 255.0).round().clamp(0.0, 255.0) as u8
    };
    Some(Rgba {
        rgb: [channel(0.0), channel(8.0), channel(4.0)],
        alpha: alpha_component(arguments)?,
    })
}

/// The named colours of CSS Color 4, sorted by name for binary search.
const NAMED_COLORS: &[(&str, [u8; 3])] = &[
    ("aliceblue", [240, 248, 255]),
    ("antiquewhite", [250, 235, 215]),
    ("aqua", [0, 255, 255]),
    ("aquamarine", [127, 255, 212]),
    ("azure", [240, 255, 255]),
    ("beige", [245, 245, 220]),
    ("bisque", [255, 228, 196]),
    ("black", [0, 0, 0]),
    ("blanchedalmond", [255, 235, 205]),
    ("blue", [0, 0, 255]),
    ("blueviolet", [138, 43, 226]),
    ("brown", [165, 42, 42]),
    ("burlywood", [222, 184, 135]),
    ("cadetblue", [95, 158, 160]),
    ("chartreuse", [127, 255, 0]),
    ("chocolate", [210, 105, 30]),
    ("coral", [255, 127, 80]),
    ("cornflowerblue", [100, 149, 237]),
    ("cornsilk", [255, 248, 220]),
    ("crimson", [220, 20, 60]),
    ("cyan", [0, 255, 255]),
    ("darkblue", [0, 0, 139]),
    ("darkcyan", [0, 139, 139]),
    ("darkgoldenrod", [184, 134, 11]),
    ("darkgray", [169, 169, 169]),
    ("darkgreen", [0, 100, 0]),
    ("darkgrey", [169, 169, 169]),
    ("darkkhaki", [189, 183, 107]),
    ("darkmagenta", [139, 0, 139]),
    ("darkolivegreen", [85, 107, 47]),
    ("darkorange", [255, 140, 0]),
    ("darkorchid", [153, 50, 204]),
    ("darkred", [139, 0, 0]),
    ("darksalmon", [233, 150, 122]),
    ("darkseagreen", [143, 188, 143]),
    ("darkslateblue", [72, 61, 139]),
    ("darkslategray", [47, 79, 79]),
    ("darkslategrey", [47, 79, 79]),
    ("darkturquoise", [0, 206, 209]),
    ("darkviolet", [148, 0, 211]),
    ("deeppink", [255, 20, 147]),
    ("deepskyblue", [0, 191, 255]),
    ("dimgray", [105, 105, 105]),
    ("dimgrey", [105, 105, 105]),
    ("dodgerblue", [30, 144, 255]),
    ("firebrick", [178, 34, 34]),
    ("floralwhite", [255, 250, 240]),
    ("forestgreen", [34, 139, 34]),
    ("fuchsia", [255, 0, 255]),
    ("gainsboro", [220, 220, 220]),
    ("ghostwhite", [248, 248, 255]),
    ("gold", [255, 215, 0]),
    ("goldenrod", [218, 165, 32]),
    ("gray", [128, 128, 128]),
    ("green", [0, 128, 0]),
    ("greenyellow", [173, 255, 47]),
    ("grey", [128, 128, 128]),
    ("honeydew", [240, 255, 240]),
    ("hotpink", [255, 105, 180]),
    ("indianred", [205, 92, 92]),
    ("indigo", [75, 0, 130]),
    ("ivory", [255, 255, 240]),
    ("khaki", [240, 230, 140]),
    ("lavender", [230, 230, 250]),
    ("lavenderblush", [255, 240, 245]),
    ("lawngreen", [124, 252, 0]),
    ("lemonchiffon", [255, 250, 205]),
    ("lightblue", [173, 216, 230]),
    ("lightcoral", [240, 128, 128]),
    ("lightcyan", [224, 255, 255]),
    ("lightgoldenrodyellow", [250, 250, 210]),
    ("lightgray", [211, 211, 211]),
    ("lightgreen", [144, 238, 144]),
    ("lightgrey", [211, 211, 211]),
    ("lightpink", [255, 182, 193]),
    ("lightsalmon", [255, 160, 122]),
    ("lightseagreen", [32, 178, 170]),
    ("lightskyblue", [135, 206, 250]),
    ("lightslategray", [119, 136, 153]),
    ("lightslategrey", [119, 136, 153]),
    ("lightsteelblue", [176, 196, 222]),
    ("lightyellow", [255, 255, 224]),
    ("lime", [0, 255, 0]),
    ("limegreen", [50, 205, 50]),
    ("linen", [250, 240, 230]),
    ("magenta", [255, 0, 255]),
    ("maroon", [128, 0, 0]),
    ("mediumaquamarine", [102, 205, 170]),
    ("mediumblue", [0, 0, 205]),
    ("mediumorchid", [186, 85, 211]),
    ("mediumpurple", [147, 112, 219]),
    ("mediumseagreen", [60, 179, 113]),
    ("mediumslateblue", [123, 104, 238]),
    ("mediumspringgreen", [0, 250, 154]),
    ("mediumturquoise", [72, 209, 204]),
    ("mediumvioletred", [199, 21, 133]),
    ("midnightblue", [25, 25, 112]),
    ("mintcream", [245, 255, 250]),
    ("mistyrose", [255, 228, 225]),
    ("moccasin", [255, 228, 181]),
    ("navajowhite", [255, 222, 173]),
    ("navy", [0, 0, 128]),
    ("oldlace", [253, 245, 230]),
    ("olive", [128, 128, 0]),
    ("olivedrab", [107, 142, 35]),
    ("orange", [255, 165, 0]),
    ("orangered", [255, 69, 0]),
    ("orchid", [218, 112, 214]),
    ("palegoldenrod", [238, 232, 170]),
    ("palegreen", [152, 251, 152]),
    ("paleturquoise", [175, 238, 238]),
    ("palevioletred", [219, 112, 147]),
    ("papayawhip", [255, 239, 213]),
    ("peachpuff", [255, 218, 185]),
    ("peru", [205, 133, 63]),
    ("pink", [255, 192, 203]),
    ("plum", [221, 160, 221]),
    ("powderblue", [176, 224, 230]),
    ("purple", [128, 0, 128]),
    ("rebeccapurple", [102, 51, 153]),
    ("red", [255, 0, 0]),
    ("rosybrown", [188, 143, 143]),
    ("royalblue", [65, 105, 225]),
    ("saddlebrown", [139, 69, 19]),
    ("salmon", [250, 128, 114]),
    ("sandybrown", [244, 164, 96]),
    ("seagreen", [46, 139, 87]),
    ("seashell", [255, 245, 238]),
    ("sienna", [160, 82, 45]),
    ("silver", [192, 192, 192]),
    ("skyblue", [135, 206, 235]),
    ("slateblue", [106, 90, 205]),
    ("slategray", [112, 128, 144]),
    ("slategrey", [112, 128, 144]),
    ("snow", [255, 250, 250]),
    ("springgreen", [0, 255, 127]),
    ("steelblue", [70, 130, 180]),
    ("tan", [210, 180, 140]),
    ("teal", [0, 128, 128]),
    ("thistle", [216, 191, 216]),
    ("tomato", [255, 99, 71]),
    ("turquoise", [64, 224, 208]),
    ("violet", [238, 130, 238]),
    ("wheat", [245, 222, 179]),
    ("white", [255, 255, 255]),
    ("whitesmoke", [245, 245, 245]),
    ("yellow", [255, 255, 0]),
    ("yellowgreen", [154, 205, 50]),
];
