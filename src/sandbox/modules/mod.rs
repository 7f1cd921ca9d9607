//! Native Rust modules for the sandbox: Heka's bundled C modules (`cjson`,
//! `circular_buffer`, `bloom_filter`, `hyperloglog`) rewritten from their
//! documented behaviour.
//!
//! Each module has `open(lua)` returning its module table; the sandbox host
//! serves it from `require` and also sets it as a global, as Heka did. The
//! userdata types that survive `preserve_data` (`CircularBuffer`,
//! `BloomFilter`, `HyperLogLog`) write their own Lua restore script with
//! `preservation_script`.

pub mod bloom_filter;
pub mod circular_buffer;
pub mod cjson;
pub mod hyperloglog;

pub(crate) mod args;
mod base64;
pub(super) mod luatext;
mod xxh64;

pub use bloom_filter::BloomFilter;
pub use circular_buffer::CircularBuffer;
pub use hyperloglog::HyperLogLog;
