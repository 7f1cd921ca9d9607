//! The per-call instruction budget of a sandbox.
//!
//! One `InstructionBudget` lives in each sandbox's Lua app data. The VM count
//! hook charges it every [`HOOK_INTERVAL`] instructions, and native modules
//! that loop in Rust (the `lpeg` matcher) charge it for their own steps, so a
//! long native match is stopped by `instruction_limit` like Lua code is.
//! Once spent, the budget stays spent until the host starts the next call, so
//! a script cannot keep running by catching the error with `pcall`.

use std::cell::Cell;
use std::rc::Rc;

use mlua::Lua;

/// VM instructions between two count-hook calls.
pub const HOOK_INTERVAL: u32 = 1000;

/// Heka's error text when the budget is spent.
pub const INSTRUCTION_LIMIT_EXCEEDED: &str = "instruction_limit exceeded";

/// Instructions allowed and used in the current entry-point call.
///
/// A handle: clones share the same counters, so the host keeps one to
/// reset the budget before each call without an app-data lookup.
#[derive(Debug, Clone, Default)]
pub struct InstructionBudget(Rc<Counters>);

#[derive(Debug, Default)]
struct Counters {
    /// 0 = unlimited.
    limit: Cell<u64>,
    used: Cell<u64>,
    max_used: Cell<u64>,
    exhausted: Cell<bool>,
}

impl InstructionBudget {
    /// A budget of `limit` instructions per call (0 = unlimited).
    pub fn new(limit: u64) -> Self {
        let b = InstructionBudget::default();
        b.0.limit.set(limit);
        b
    }

    /// Starts a new entry-point call.
    pub fn reset(&self) {
        self.0.used.set(0);
        self.0.exhausted.set(false);
    }

    /// Changes the limit (0 = unlimited), e.g. while restoring state.
    pub fn set_limit(&self, limit: u64) {
        self.0.limit.set(limit);
    }

    /// The configured limit.
    pub fn limit(&self) -> u64 {
        self.0.limit.get()
    }

    /// Adds `steps`; fails once the limit is passed, and keeps failing.
    pub fn charge(&self, steps: u64) -> Result<(), BudgetExceeded> {
        let c = &self.0;
        let used = c.used.get().saturating_add(steps);
        c.used.set(used);
        if used > c.max_used.get() {
            c.max_used.set(used);
        }
        let limit = c.limit.get();
        if c.exhausted.get() || (limit > 0 && used > limit) {
            c.exhausted.set(true);
            return Err(BudgetExceeded);
        }
        Ok(())
    }

    /// True once the current call has spent its budget.
    pub fn is_exhausted(&self) -> bool {
        self.0.exhausted.get()
    }

    /// Instructions used by the current (or last) call.
    pub fn used(&self) -> u64 {
        self.0.used.get()
    }

    /// Most instructions any call used (Heka's `MaxInstructions`).
    pub fn max_used(&self) -> u64 {
        self.0.max_used.get()
    }
}

/// The budget ran out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("instruction_limit exceeded")]
pub struct BudgetExceeded;

impl From<BudgetExceeded> for mlua::Error {
    fn from(_: BudgetExceeded) -> Self {
        mlua::Error::runtime(INSTRUCTION_LIMIT_EXCEEDED)
    }
}

/// Charges `steps` to the budget of `lua`'s sandbox. States without a budget
/// (plain `Lua` in unit tests) are never charged.
pub fn charge(lua: &Lua, steps: u64) -> mlua::Result<()> {
    match lua.app_data_ref::<InstructionBudget>() {
        Some(b) => b.charge(steps).map_err(Into::into),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budget_trips_and_stays_tripped_until_reset() {
        let b = InstructionBudget::new(2500);
        assert!(b.charge(1000).is_ok());
        assert!(b.charge(1000).is_ok());
        assert_eq!(b.charge(1000), Err(BudgetExceeded));
        assert_eq!(b.charge(0), Err(BudgetExceeded), "stays spent");
        assert_eq!(b.max_used(), 3000);
        b.reset();
        assert!(b.charge(1000).is_ok());
        assert!(!b.is_exhausted());
    }

    #[test]
    fn clones_share_the_counters() {
        let b = InstructionBudget::new(1500);
        let handle = b.clone();
        assert!(b.charge(1000).is_ok());
        assert_eq!(b.charge(1000), Err(BudgetExceeded));
        assert!(handle.is_exhausted() && handle.used() == 2000);
        handle.reset();
        assert!(!b.is_exhausted() && b.used() == 0 && b.max_used() == 2000);
    }

    #[test]
    fn zero_means_unlimited() {
        let b = InstructionBudget::new(0);
        assert!(b.charge(u64::MAX / 2).is_ok());
    }

    #[test]
    fn charge_uses_app_data() {
        let lua = Lua::new();
        assert!(charge(&lua, 10).is_ok(), "no budget: free");
        lua.set_app_data(InstructionBudget::new(5));
        let err = charge(&lua, 10).unwrap_err();
        assert!(err.to_string().contains("instruction_limit exceeded"));
    }
}
