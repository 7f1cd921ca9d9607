//! Configuration: Heka's TOML, `[hekad]` globals, plugin sections, common
//! options and validation with every error collected.
//!
//! [`load`] reads a file or a directory of `*.toml` files into a
//! [`Config`]: the globals ([`HekadConfig`]) and one [`PluginSection`] per
//! plugin with its common options parsed. Each plugin then reads its own
//! keys with [`plugin_config`]. This module knows no plugin types: it is
//! used by `plugins` and `pipeline`, never the other way round.

mod buffering;
mod common;
mod duration;
mod env;
mod error;
mod hekad;
mod load;
mod paths;
mod retry;
mod section;
mod signer;
mod value;

pub use buffering::{BufferingConfig, DEFAULT_MAX_FILE_SIZE, FullAction};
pub use common::{CommonConfig, CommonFilterOutputConfig, CommonInputConfig, CommonSplitterConfig};
pub use duration::{deserialize_duration, parse_duration};
pub use error::{ConfigError, ConfigErrors};
pub use hekad::{DEFAULT_BASE_DIR, HekadConfig};
pub use load::{Config, first_section_str, load, load_partial, load_str};
pub use paths::{SHARE_DIR_ENV, os_hostname, resolve_share_dir};
pub use retry::RetryConfig;
pub use section::{Category, PluginSection, plugin_config};
pub use signer::SignerConfig;
