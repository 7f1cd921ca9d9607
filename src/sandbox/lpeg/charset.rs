//! 256-bit byte sets: the character classes of `lpeg.S`, `lpeg.R`,
//! `lpeg.locale` and `re`'s `[...]`, tested with one shift and mask per byte.

/// A set of bytes.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, Debug)]
pub struct Charset([u64; 4]);

impl Charset {
    /// No byte.
    pub const EMPTY: Charset = Charset([0; 4]);
    /// Every byte.
    pub const FULL: Charset = Charset([u64::MAX; 4]);

    /// The bytes of `bytes`.
    pub fn from_bytes(bytes: &[u8]) -> Charset {
        let mut cs = Charset::EMPTY;
        for &b in bytes {
            cs.insert(b);
        }
        cs
    }

    /// The bytes `lo..=hi` (empty when `lo > hi`).
    pub fn range(lo: u8, hi: u8) -> Charset {
        let mut cs = Charset::EMPTY;
        for b in lo..=hi {
            cs.insert(b);
        }
        cs
    }

    /// The bytes for which `pred` holds.
    pub fn from_fn(pred: impl Fn(u8) -> bool) -> Charset {
        let mut cs = Charset::EMPTY;
        for b in 0..=255u8 {
            if pred(b) {
                cs.insert(b);
            }
        }
        cs
    }

    /// The single byte `b`.
    pub fn single(b: u8) -> Charset {
        let mut cs = Charset::EMPTY;
        cs.insert(b);
        cs
    }

    /// Adds `b`.
    pub fn insert(&mut self, b: u8) {
        self.0[usize::from(b >> 6)] |= 1 << (b & 63);
    }

    /// True when `b` is in the set.
    #[inline(always)]
    pub fn contains(&self, b: u8) -> bool {
        (self.0[usize::from(b >> 6)] >> (b & 63)) & 1 != 0
    }

    /// Bytes in either set.
    pub fn union(&self, other: &Charset) -> Charset {
        Charset(std::array::from_fn(|i| self.0[i] | other.0[i]))
    }

    /// Bytes in `self` but not in `other`.
    pub fn difference(&self, other: &Charset) -> Charset {
        Charset(std::array::from_fn(|i| self.0[i] & !other.0[i]))
    }

    /// True when the sets share a byte.
    pub fn intersects(&self, other: &Charset) -> bool {
        (0..4).any(|i| self.0[i] & other.0[i] != 0)
    }

    /// True when the set has no byte.
    pub fn is_empty(&self) -> bool {
        *self == Charset::EMPTY
    }

    /// True when the set has every byte.
    pub fn is_full(&self) -> bool {
        *self == Charset::FULL
    }

    /// The byte, when the set has exactly one.
    pub fn only(&self) -> Option<u8> {
        let count: u32 = self.0.iter().map(|w| w.count_ones()).sum();
        if count != 1 {
            return None;
        }
        (0..=255u8).find(|&b| self.contains(b))
    }
}

/// The class names of `lpeg.locale`, in the "C" locale the sandbox runs in.
pub const CLASS_NAMES: [&str; 11] = [
    "alnum", "alpha", "cntrl", "digit", "graph", "lower", "print", "punct", "space", "upper",
    "xdigit",
];

/// The set of a `lpeg.locale` class in the "C" locale.
pub fn class(name: &str) -> Option<Charset> {
    let pred: fn(u8) -> bool = match name {
        "alnum" => |b| b.is_ascii_alphanumeric(),
        "alpha" => |b| b.is_ascii_alphabetic(),
        "cntrl" => |b| b.is_ascii_control(),
        "digit" => |b| b.is_ascii_digit(),
        "graph" => |b| b.is_ascii_graphic(),
        "lower" => |b| b.is_ascii_lowercase(),
        "print" => |b| b.is_ascii_graphic() || b == b' ',
        "punct" => |b| b.is_ascii_punctuation(),
        // C's isspace: space, \t, \n, \v, \f, \r.
        "space" => |b| b == b' ' || (9..=13).contains(&b),
        "upper" => |b| b.is_ascii_uppercase(),
        "xdigit" => |b| b.is_ascii_hexdigit(),
        _ => return None,
    };
    Some(Charset::from_fn(pred))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_operations() {
        let az = Charset::range(b'a', b'z');
        assert!(az.contains(b'a') && az.contains(b'z') && !az.contains(b'A'));
        let vowels = Charset::from_bytes(b"aeiou");
        let cons = az.difference(&vowels);
        assert!(!cons.contains(b'e') && cons.contains(b'b'));
        assert!(cons.union(&vowels) == az);
        assert!(!cons.intersects(&vowels));
        assert_eq!(Charset::single(0xff).only(), Some(0xff));
        assert_eq!(az.only(), None);
        assert!(Charset::range(1, 0).is_empty());
        assert!(Charset::range(0, 255).is_full());
    }

    #[test]
    fn c_locale_classes() {
        let space = class("space").unwrap();
        assert!(space.contains(b'\x0b') && space.contains(b' ') && !space.contains(b'x'));
        let punct = class("punct").unwrap();
        assert!(punct.contains(b'!') && !punct.contains(b'a') && !punct.contains(b' '));
        assert!(class("print").unwrap().contains(b' '));
        assert!(!class("graph").unwrap().contains(b' '));
        assert!(class("nope").is_none());
        assert!(CLASS_NAMES.iter().all(|n| class(n).is_some()));
    }
}
