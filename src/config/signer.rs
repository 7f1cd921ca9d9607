//! The `[<name>.signer]` table (TcpOutput) and `[signer]` (sbmgr): the
//! identity a sender signs its records with (Heka's message signer).

use serde::Deserialize;

use crate::message::{HmacHashFunction, Signer};

/// A signer as configured.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SignerConfig {
    /// Signer name (what receivers' `message_signer` matchers see).
    pub name: String,
    /// "md5" (default) or "sha1".
    #[serde(default = "default_hash")]
    pub hmac_hash: String,
    /// Shared key.
    pub hmac_key: String,
    /// Key version.
    #[serde(default)]
    pub version: u32,
}

fn default_hash() -> String {
    "md5".into()
}

impl SignerConfig {
    /// The signing identity.
    pub fn signer(&self) -> Signer {
        Signer {
            name: self.name.clone(),
            version: self.version,
            hash: HmacHashFunction::from_name(&self.hmac_hash),
            key: self.hmac_key.as_bytes().to_vec(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_defaults_to_md5_and_unknown_keys_are_refused() {
        let c: SignerConfig = toml::from_str("name = \"ops\"\nhmac_key = \"k\"").unwrap();
        let s = c.signer();
        assert_eq!((s.name.as_str(), s.version, s.key.as_slice()), ("ops", 0, &b"k"[..]));
        assert_eq!(s.hash, HmacHashFunction::from_name("md5"));
        let err = toml::from_str::<SignerConfig>("name = \"a\"\nhmac_key = \"k\"\nkey = 1");
        assert!(err.is_err());
    }
}
