//! `bloom_filter`: a fixed-size set membership test with a configured
//! false positive probability (`bloom_filter.new(items, probability)`,
//! `:add(key)`, `:query(key)`, `:count()`, `:clear()`), preserved across
//! restarts.
//!
//! Sizing is the textbook optimum: `m = -n ln p / (ln 2)^2` bits and
//! `k = (m / n) ln 2` probes. Probe `i` of a key is `h1 + i * h2 (mod m)`
//! (Kirsch-Mitzenmacher double hashing) from its XXH64 hash.

use std::fmt::Write;

use mlua::{Lua, MultiValue, Result, Table, UserData, UserDataMethods, Value};

use crate::sandbox::limits::check_memory;
use crate::sandbox::modules::args::{
    arg_error, check_integer, check_number, check_string, hash_key,
};
use crate::sandbox::modules::base64;
use crate::sandbox::modules::luatext::{fmt_exact, lua_quote};

/// The largest filter: 2^32 bits (512 MiB).
const MAX_BITS: u64 = 1 << 32;

/// A bloom filter (the `bloom_filter` userdata).
#[derive(Debug, Clone, PartialEq)]
pub struct BloomFilter {
    items: u64,
    probability: f64,
    bits: u64,
    hashes: u32,
    words: Vec<u64>,
    count: u64,
}

/// A second, independent-enough hash for double hashing (SplitMix64's
/// finaliser); odd, so probes of one key never all coincide.
fn second_hash(h: u64) -> u64 {
    let mut z = h ^ 0x9E37_79B9_7F4A_7C15;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    (z ^ (z >> 31)) | 1
}

impl BloomFilter {
    /// A filter for `items` keys at false positive `probability`; `None`
    /// when that needs more than 2^32 bits or cannot be allocated.
    /// (Callers check items > 1 and 0 < probability < 1.)
    pub fn new(items: u64, probability: f64) -> Option<Self> {
        let ln2 = std::f64::consts::LN_2;
        let bits = (-(items as f64) * probability.ln() / (ln2 * ln2)).ceil().max(64.0);
        if bits.is_nan() || bits > MAX_BITS as f64 {
            return None;
        }
        let bits = bits as u64;
        let hashes = ((bits as f64 / items as f64) * ln2).round().clamp(1.0, 64.0) as u32;
        let n = bits.div_ceil(64) as usize;
        let mut words = Vec::new();
        words.try_reserve_exact(n).ok()?;
        words.resize(n, 0);
        Some(BloomFilter { items, probability, bits, hashes, words, count: 0 })
    }

    fn probes(&self, hash: u64) -> impl Iterator<Item = u64> + '_ {
        let h2 = second_hash(hash);
        (0..u64::from(self.hashes)).map(move |i| hash.wrapping_add(i.wrapping_mul(h2)) % self.bits)
    }

    /// Adds a key by its hash; true if it was not (seemingly) present.
    pub fn add_hash(&mut self, hash: u64) -> bool {
        let mut added = false;
        let probes: Vec<u64> = self.probes(hash).collect();
        for bit in probes {
            let (w, mask) = ((bit / 64) as usize, 1u64 << (bit % 64));
            if self.words[w] & mask == 0 {
                self.words[w] |= mask;
                added = true;
            }
        }
        if added {
            self.count += 1;
        }
        added
    }

    /// True if the key's hash may have been added.
    pub fn query_hash(&self, hash: u64) -> bool {
        self.probes(hash).all(|bit| self.words[(bit / 64) as usize] & (1u64 << (bit % 64)) != 0)
    }

    /// Keys added (adds that returned true).
    pub fn count(&self) -> u64 {
        self.count
    }

    /// Forgets every key.
    pub fn clear(&mut self) {
        self.words.fill(0);
        self.count = 0;
    }

    /// `(bits, probes per key)`.
    pub fn geometry(&self) -> (u64, u32) {
        (self.bits, self.hashes)
    }

    /// Restores the count and bits from `"<count> <base64 bits>"`.
    pub fn fromstring(&mut self, text: &[u8]) -> std::result::Result<(), &'static str> {
        let text = std::str::from_utf8(text).map_err(|_| "fromstring() invalid data")?;
        let (count, data) = text.trim().split_once(' ').ok_or("fromstring() invalid data")?;
        let count = count.parse().map_err(|_| "fromstring() invalid count")?;
        let bytes = base64::decode(data.as_bytes()).ok_or("fromstring() invalid data")?;
        if bytes.len() != self.words.len() * 8 {
            return Err("fromstring() bytes do not match the filter size");
        }
        for (w, chunk) in self.words.iter_mut().zip(bytes.chunks_exact(8)) {
            let mut b = [0u8; 8];
            b.copy_from_slice(chunk);
            *w = u64::from_le_bytes(b);
        }
        self.count = count;
        Ok(())
    }

    /// Appends Lua that recreates this filter in place at `qualified_name`
    /// (e.g. `_G["seen"]`) when run with `bloom_filter` loaded as a global.
    pub fn preservation_script(&self, qualified_name: &str, out: &mut String) {
        let q = qualified_name;
        let _ = write!(out, "if {q} == nil then {q} = bloom_filter.new({}, ", self.items);
        fmt_exact(self.probability, out);
        let _ = writeln!(out, ") end");
        let mut state = format!("{} ", self.count);
        let bytes: Vec<u8> = self.words.iter().flat_map(|w| w.to_le_bytes()).collect();
        base64::encode(&bytes, &mut state);
        let _ = write!(out, "{q}:fromstring(");
        lua_quote(state.as_bytes(), out);
        out.push_str(")\n");
    }
}

fn new_filter(lua: &Lua, args: MultiValue) -> Result<BloomFilter> {
    let arg = |i: usize| args.get(i).cloned().unwrap_or(Value::Nil);
    if args.len() != 2 {
        return Err(arg_error(0, "new", "incorrect number of arguments"));
    }
    let items = check_integer(&arg(0), 1, "new")?;
    if items <= 1 {
        return Err(arg_error(1, "new", "items must be > 1"));
    }
    let p = check_number(&arg(1), 2, "new")?;
    if !(p > 0.0 && p < 1.0) {
        return Err(arg_error(2, "new", "probability must be between 0 and 1"));
    }
    let ln2 = std::f64::consts::LN_2;
    let bytes = (-(items as f64) * p.ln() / (ln2 * ln2) / 8.0).min(1e18) as usize;
    check_memory(lua, bytes)?;
    BloomFilter::new(items as u64, p)
        .ok_or_else(|| mlua::Error::MemoryError("not enough memory".into()))
}

/// Opens the `bloom_filter` module and returns its table.
pub fn open(lua: &Lua) -> Result<Table> {
    let t = lua.create_table()?;
    t.set("new", lua.create_function(|lua, args: MultiValue| new_filter(lua, args))?)?;
    Ok(t)
}

impl UserData for BloomFilter {
    fn add_methods<M: UserDataMethods<Self>>(methods: &mut M) {
        methods
            .add_method_mut("add", |_, bf, key: Value| Ok(bf.add_hash(hash_key(&key, 1, "add")?)));
        methods.add_method("query", |_, bf, key: Value| {
            Ok(bf.query_hash(hash_key(&key, 1, "query")?))
        });
        methods.add_method("count", |_, bf, ()| Ok(bf.count()));
        methods.add_method_mut("clear", |_, bf, ()| {
            bf.clear();
            Ok(())
        });
        methods.add_method_mut("fromstring", |_, bf, v: Value| {
            let text = check_string(&v, 1, "fromstring")?;
            bf.fromstring(&text).map_err(mlua::Error::runtime)
        });
    }
}

#[cfg(test)]
mod tests {
    use mlua::AnyUserData;

    use super::*;

    fn lua() -> Lua {
        let lua = Lua::new();
        lua.globals().set("bloom_filter", open(&lua).unwrap()).unwrap();
        lua
    }

    #[test]
    fn sizing_is_textbook() {
        let bf = BloomFilter::new(10_000, 0.01).unwrap();
        // m = 10000 * ln(100) / ln(2)^2 = 95850.6 -> 95851, k = 6.64 -> 7
        assert_eq!(bf.geometry(), (95_851, 7));
    }

    #[test]
    fn add_query_count_clear() {
        let lua = lua();
        let ok: bool = lua
            .load(
                r#"bf = bloom_filter.new(100, 0.01)
                   return bf:add("a") == true and bf:add("a") == false and bf:add(1) == true
                      and bf:add(1.0) == false and bf:query("a") and bf:query(1)
                      and not bf:query("b") and not bf:query("1") and bf:count() == 2
                      and (function() bf:clear() return bf:count() == 0 and not bf:query("a") end)()"#,
            )
            .eval()
            .unwrap();
        assert!(ok);
        let cases = [
            ("bloom_filter.new(1, 0.01)", "bad argument #1 to 'new' (items must be > 1)"),
            (
                "bloom_filter.new(10, 1)",
                "bad argument #2 to 'new' (probability must be between 0 and 1)",
            ),
            ("bloom_filter.new(10)", "incorrect number of arguments"),
            ("bf:add({})", "bad argument #1 to 'add' (string or number expected, got table)"),
            ("bf:query()", "bad argument #1 to 'query' (string or number expected, got nil)"),
            ("bf:fromstring('1 Zg==')", "fromstring() bytes do not match the filter size"),
            ("bloom_filter.new(1e15, 1e-10)", "not enough memory"),
        ];
        for (code, want) in cases {
            let e = lua.load(code).exec().unwrap_err().to_string();
            assert!(e.contains(want), "{code}: {e}");
        }
    }

    #[test]
    fn false_positive_rate_is_as_configured() {
        let mut bf = BloomFilter::new(10_000, 0.01).unwrap();
        let hash = |s: String| crate::sandbox::modules::xxh64::xxh64(s.as_bytes(), 0);
        for i in 0..10_000 {
            bf.add_hash(hash(format!("in-{i}")));
        }
        assert!(bf.count() > 9_900, "almost every distinct key is new: {}", bf.count());
        for i in 0..10_000 {
            assert!(bf.query_hash(hash(format!("in-{i}"))), "no false negatives");
        }
        let false_positives =
            (0..100_000).filter(|i| bf.query_hash(hash(format!("out-{i}")))).count();
        let rate = false_positives as f64 / 100_000.0;
        assert!((0.005..0.02).contains(&rate), "false positive rate {rate}");
    }

    #[test]
    fn preservation_round_trip() {
        let lua = lua();
        lua.load("seen = bloom_filter.new(1000, 0.001) for i = 1, 300 do seen:add('k' .. i) end seen:add(42)")
            .exec()
            .unwrap();
        let ud: AnyUserData = lua.globals().get("seen").unwrap();
        let mut script = String::new();
        ud.borrow::<BloomFilter>().unwrap().preservation_script("_G[\"seen\"]", &mut script);
        assert!(script.starts_with(
            "if _G[\"seen\"] == nil then _G[\"seen\"] = bloom_filter.new(1000, 0.001) end\n"
        ));
        assert!(script.is_ascii());
        let fresh = self::lua();
        fresh.load(&script).exec().unwrap();
        let back: AnyUserData = fresh.globals().get("seen").unwrap();
        assert_eq!(*back.borrow::<BloomFilter>().unwrap(), *ud.borrow::<BloomFilter>().unwrap());
        let ok: bool = fresh
            .load("return seen:count() == 301 and seen:query('k1') and seen:query('k300') and seen:query(42) and not seen:query('k301')")
            .eval()
            .unwrap();
        assert!(ok);
    }
}
