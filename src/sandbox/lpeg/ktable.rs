//! A pattern's ktable: the Lua values its tree refers to by index
//! (capture functions, group names, constants, rule names).
//!
//! Attached to a pattern, it is a Lua table in the userdata's user value,
//! where the garbage collector sees it (a capture function that refers
//! back to its own pattern is an ordinary, collectable Lua cycle). It is
//! never changed once attached, so patterns built from one another share
//! it as long as no values are added; only joining two patterns that both
//! have values, or adding a value, makes a new one.

use mlua::{AnyUserData, Lua, Table, Value};

use super::error::{LpegError, Result};

/// Most Lua values one pattern may refer to (LPeg's limit).
pub const MAX_KTABLE: usize = u16::MAX as usize;

/// The values of a pattern being built.
#[derive(Clone, Default)]
pub enum KTable {
    #[default]
    Empty,
    /// The (immutable) table of an existing pattern, with its length.
    Shared(Table, usize),
    /// Values collected in Rust.
    Owned(Vec<Value>),
}

impl KTable {
    /// The ktable attached to `ud`, which holds `len` values.
    pub fn of(ud: &AnyUserData, len: usize) -> Result<KTable> {
        if len == 0 {
            return Ok(KTable::Empty);
        }
        match ud.user_value::<Value>()? {
            Value::Table(t) => Ok(KTable::Shared(t, len)),
            _ => Ok(KTable::Empty),
        }
    }

    pub fn len(&self) -> usize {
        match self {
            KTable::Empty => 0,
            KTable::Shared(_, n) => *n,
            KTable::Owned(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// True when both are the same attached table.
    pub fn same(&self, other: &KTable) -> bool {
        matches!((self, other), (KTable::Shared(a, _), KTable::Shared(b, _)) if a == b)
    }

    /// The value at 1-based `key` (nil when absent).
    pub fn get(&self, key: u32) -> Result<Value> {
        Ok(match self {
            KTable::Empty => Value::Nil,
            KTable::Shared(t, _) => t.raw_get(key)?,
            KTable::Owned(v) => {
                v.get((key as usize).wrapping_sub(1)).cloned().unwrap_or(Value::Nil)
            }
        })
    }

    /// The values, in order.
    pub fn into_values(self) -> Result<Vec<Value>> {
        Ok(match self {
            KTable::Empty => Vec::new(),
            KTable::Owned(v) => v,
            KTable::Shared(t, n) => {
                (1..=n).map(|k| t.raw_get::<Value>(k)).collect::<mlua::Result<_>>()?
            }
        })
    }

    /// Appends `other`'s values after this table's.
    pub fn concat(self, other: KTable) -> Result<KTable> {
        if self.len() + other.len() > MAX_KTABLE {
            return Err(LpegError::TooManyValues);
        }
        let mut v = self.into_values()?;
        v.extend(other.into_values()?);
        Ok(KTable::Owned(v))
    }

    /// Adds `v`; returns its 1-based key.
    pub fn push(&mut self, v: Value) -> Result<u32> {
        if self.len() >= MAX_KTABLE {
            return Err(LpegError::TooManyValues);
        }
        let mut values = std::mem::take(self).into_values()?;
        values.push(v);
        let key = values.len() as u32;
        *self = KTable::Owned(values);
        Ok(key)
    }

    /// The Lua table to attach to a new pattern (`None` when empty).
    pub fn into_table(self, lua: &Lua) -> Result<Option<Table>> {
        Ok(match self {
            KTable::Empty => None,
            KTable::Shared(t, _) => Some(t),
            KTable::Owned(v) => {
                let t = lua.create_table_with_capacity(v.len(), 0)?;
                for (i, v) in v.into_iter().enumerate() {
                    t.raw_set(i + 1, v)?;
                }
                Some(t)
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sharing_and_copying() {
        let lua = Lua::new();
        let mut a = KTable::Empty;
        assert_eq!(a.push(Value::Integer(7)).unwrap(), 1);
        assert_eq!(a.push(Value::Nil).unwrap(), 2);
        let t = a.clone().into_table(&lua).unwrap().unwrap();
        let shared = KTable::Shared(t, 2);
        assert!(shared.same(&shared.clone()));
        assert!(!shared.same(&a));
        assert_eq!(shared.get(1).unwrap(), Value::Integer(7));
        assert_eq!(shared.get(2).unwrap(), Value::Nil);
        let both = shared.concat(a).unwrap();
        assert_eq!(both.len(), 4);
        assert_eq!(both.get(3).unwrap(), Value::Integer(7));
        assert_eq!(both.get(9).unwrap(), Value::Nil);
    }
}
