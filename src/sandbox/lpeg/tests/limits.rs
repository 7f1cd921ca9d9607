//! Sandbox limits: the instruction budget stops long native matches, the
//! memory limit stops capture memory bombs, and the state stays usable.

use mlua::Lua;

use super::{run, state};
use crate::sandbox::budget::{INSTRUCTION_LIMIT_EXCEEDED, InstructionBudget};
use crate::sandbox::limits::MemoryLimit;

const BIG: &str = "subject = string.rep('x', 32 * 1024 * 1024)";

fn with_budget(limit: u64) -> Lua {
    let lua = state();
    run(&lua, BIG);
    lua.set_app_data(InstructionBudget::new(limit));
    lua
}

/// A state holding `subject` (made by `code`) with a memory limit of `room`
/// bytes above what it uses now.
fn with_memory_room(code: &str, room: usize) -> Lua {
    let lua = state();
    run(&lua, code);
    let limit = lua.used_memory() + room;
    lua.set_memory_limit(limit).expect("memory limit");
    lua.set_app_data(MemoryLimit(limit));
    lua
}

fn assert_memory_error(err: mlua::Error) {
    let text = err.to_string();
    assert!(
        matches!(err, mlua::Error::MemoryError(_)) || text.contains("not enough memory"),
        "{text}"
    );
}

fn budget_error(lua: &Lua, code: &str) -> String {
    match lua.load(code).exec() {
        Ok(()) => panic!("`{code}` was not stopped"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn span_over_32_mib_is_stopped_by_the_budget() {
    let lua = with_budget(1_000_000);
    let err = budget_error(&lua, "return ((lpeg.P(1) - 'z')^0 * 'z'):match(subject)");
    assert!(err.contains(INSTRUCTION_LIMIT_EXCEEDED), "{err}");
    let used = lua.app_data_ref::<InstructionBudget>().map(|b| b.used()).unwrap_or(0);
    assert!(used < 1_100_000, "stopped soon after the limit, used {used}");
}

#[test]
fn backtracking_over_32_mib_is_stopped_by_the_budget() {
    let lua = with_budget(1_000_000);
    // Each position tries a 'y'-terminated run first, then skips a byte.
    let err =
        budget_error(&lua, "return lpeg.P{ (lpeg.P'x'^1 * 'y') + 1 * lpeg.V(1) }:match(subject)");
    assert!(err.contains(INSTRUCTION_LIMIT_EXCEEDED), "{err}");
}

#[test]
fn the_same_match_without_a_budget_completes() {
    let lua = state();
    run(&lua, BIG);
    run(&lua, "assert(((lpeg.P(1) - 'z')^0 * 'z'):match(subject) == nil)");
    run(&lua, "assert(((lpeg.P(1) - 'z')^0 * -1):match(subject) == #subject + 1)");
}

#[test]
fn budget_stays_spent_until_reset() {
    let lua = with_budget(1_000_000);
    budget_error(&lua, "return (lpeg.P(1)^0):match(subject)");
    let err = budget_error(&lua, "return lpeg.P'x':match('x')");
    assert!(err.contains(INSTRUCTION_LIMIT_EXCEEDED), "{err}");
    if let Some(b) = lua.app_data_ref::<InstructionBudget>() {
        b.reset();
    }
    run(&lua, "assert(lpeg.P'x':match('x') == 2)");
}

#[test]
fn small_matches_fit_a_small_budget() {
    let lua = state();
    lua.set_app_data(InstructionBudget::new(1_000_000));
    run(
        &lua,
        r##"
      local p = lpeg.Ct((lpeg.C(lpeg.R"az"^1) + 1)^0)
      for _ = 1, 100 do assert(#p:match("some words in a line") == 5) end
    "##,
    );
    let used = lua.app_data_ref::<InstructionBudget>().map(|b| b.used()).unwrap_or(0);
    assert!(used > 1000, "steps are charged ({used})");
}

#[test]
fn capture_memory_bomb_hits_the_memory_limit() {
    let lua = with_memory_room("subject = string.rep('x', 1e7)", 8 * 1024 * 1024);
    let err =
        lua.load("return lpeg.Ct(lpeg.C(1)^0):match(subject)").exec().expect_err("bomb stopped");
    assert_memory_error(err);
    // The state is still usable afterwards.
    run(&lua, "subject = nil; collectgarbage()");
    run(&lua, "assert(lpeg.Ct(lpeg.C(1)^0):match('abc')[3] == 'c')");
}

/// Few entries but large strings: the limit is reached while Lua builds the
/// table (inside the one protected call), not while recording entries.
#[test]
fn large_strings_in_a_table_capture_hit_the_memory_limit() {
    let lua = with_memory_room("subject = string.rep('x', 1e6)", 4 * 1024 * 1024);
    let err = lua
        .load(
            "local whole = lpeg.Cg(lpeg.C(lpeg.P(1)^0), 'x')
             return (whole * lpeg.Ct(lpeg.Cb'x' * lpeg.Cb'x' * lpeg.Cb'x' * lpeg.Cb'x'
                 * lpeg.Cb'x' * lpeg.Cb'x' * lpeg.Cb'x' * lpeg.Cb'x')):match(subject)",
        )
        .exec()
        .expect_err("bomb stopped");
    assert_memory_error(err);
    // The state is still usable, and the same capture of a short subject
    // works.
    run(&lua, "subject = nil; collectgarbage()");
    run(
        &lua,
        "local t = (lpeg.Cg(lpeg.C(lpeg.P(1)^0), 'x') * lpeg.Ct(lpeg.Cb'x' * lpeg.Cb'x')):match('ab')
         assert(t[1] == 'ab' and t[2] == 'ab')",
    );
}

#[test]
fn match_time_values_bomb_hits_the_memory_limit() {
    let lua = with_memory_room("subject = string.rep('x', 4e6)", 4 * 1024 * 1024);
    let err = lua
        .load("return lpeg.Ct(lpeg.Cmt(1, function(_, i) return i, i end)^0):match(subject)")
        .exec()
        .expect_err("bomb stopped");
    assert!(err.to_string().contains("memory"), "{err}");
}

#[test]
fn building_and_compiling_huge_patterns_is_charged() {
    let lua = state();
    lua.set_app_data(InstructionBudget::new(100_000));
    let err = budget_error(&lua, "return lpeg.P'ab'^-1000000");
    assert!(err.contains(INSTRUCTION_LIMIT_EXCEEDED), "{err}");
    if let Some(b) = lua.app_data_ref::<InstructionBudget>() {
        b.reset();
    }
    // Within budget to build, but compiles to over 100,000 instructions.
    run(&lua, "big = lpeg.P'x'^-60000");
    if let Some(b) = lua.app_data_ref::<InstructionBudget>() {
        b.reset();
    }
    let err = budget_error(&lua, "return big:match'x'");
    assert!(err.contains(INSTRUCTION_LIMIT_EXCEEDED), "{err}");
    if let Some(b) = lua.app_data_ref::<InstructionBudget>() {
        b.reset();
    }
    run(&lua, "assert(re.compile(\"'a'^5000\"):match(string.rep('a', 5001)) == 5001)");
}

#[test]
fn patterns_referring_to_themselves_are_collected() {
    run(
        &state(),
        r##"
      local weak = setmetatable({}, {__mode = "k"})
      do
        local p
        p = lpeg.C(1) / function(c) return p and c end
        p = lpeg.Ct(p^0) * lpeg.Cmt(0, function() return p ~= nil end)
        assert(#p:match"abc" == 3)
        weak[p] = true
      end
      collectgarbage(); collectgarbage()
      assert(next(weak) == nil, "a pattern cycle through a Lua closure is garbage")
    "##,
    );
}

#[test]
fn long_literals_are_charged_by_length() {
    let lua = state();
    run(&lua, "subject = string.rep('a', 1e6); lit = string.rep('a', 1e5) .. 'b'");
    // Compile first, then measure one comparison.
    run(&lua, "p = lpeg.P(lit); assert(p:match('') == nil)");
    lua.set_app_data(InstructionBudget::new(1_000_000));
    run(&lua, "assert(p:match(subject) == nil)");
    let used = lua.app_data_ref::<InstructionBudget>().map(|b| b.used()).unwrap_or(0);
    assert!(used >= 100_000 / 32, "one comparison of 100 kB costs {used} steps");
    let err = budget_error(&lua, "return lpeg.P{ lpeg.P(lit) + 1 * lpeg.V(1) }:match(subject)");
    assert!(err.contains(INSTRUCTION_LIMIT_EXCEEDED), "{err}");
}

#[test]
fn string_capture_copies_hit_the_limits() {
    let lua = state();
    run(&lua, "subject = string.rep('x', 1e6); fmt = string.rep('%0', 1000)");
    let limit = lua.used_memory() + 8 * 1024 * 1024;
    lua.set_memory_limit(limit).expect("memory limit");
    lua.set_app_data(MemoryLimit(limit));
    let err = lua.load("return (lpeg.P(1)^0 / fmt):match(subject)").exec().expect_err("stopped");
    assert!(err.to_string().contains("memory"), "{err}");
    lua.set_app_data(InstructionBudget::new(1_000_000));
    lua.set_app_data(MemoryLimit(0));
    lua.set_memory_limit(0).expect("no memory limit");
    let err = budget_error(&lua, "return lpeg.Cs((lpeg.P(1)^0 / fmt)):match(subject)");
    assert!(err.contains(INSTRUCTION_LIMIT_EXCEEDED), "{err}");
}

#[test]
fn back_reference_scans_are_charged_as_they_run() {
    let lua = state();
    run(&lua, "subject = string.rep('x', 50000)");
    lua.set_app_data(InstructionBudget::new(1_000_000));
    // Every back reference looks past all earlier captures: quadratic.
    let err = budget_error(
        &lua,
        "return lpeg.Ct(lpeg.Cg(lpeg.C(1), 'x') * (lpeg.C(1) * lpeg.Cb'x')^0):match(subject)",
    );
    assert!(err.contains(INSTRUCTION_LIMIT_EXCEEDED), "{err}");
    let used = lua.app_data_ref::<InstructionBudget>().map(|b| b.used()).unwrap_or(0);
    assert!(used < 1_100_000, "stopped while evaluating, used {used}");
}
