//! Configuration: Heka's TOML, `[hekad]` globals, plugin sections, common
//! options and validation with every error collected.

mod duration;

pub use duration::parse_duration;
