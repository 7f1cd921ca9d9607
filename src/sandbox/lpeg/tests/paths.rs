//! The two ways a match runs: the C-function path (`fast` and `push`, the
//! common call) and the mlua path (taken here by passing an extra
//! argument). Both must give the same values and the same errors, and the
//! C function must be what patterns' `match` method and `lpeg.match` are.

use mlua::{Function, Value};
use proptest::prelude::*;

use super::differential::{build, spec};
use super::{run, state};
use crate::sandbox::lpeg::pattern::{Pat, push};
use crate::sandbox::lpeg::tree::{self, CapKind, Kind};

/// Cases covering every capture kind the C-function path evaluates, as
/// `{pattern, subject}` pairs; each is matched both ways and compared.
const CASES: &str = r#"
local P, R, S, C, Cc, Cg, Ct, Cp, Cmt = lpeg.P, lpeg.R, lpeg.S, lpeg.C, lpeg.Cc, lpeg.Cg,
  lpeg.Ct, lpeg.Cp, lpeg.Cmt
local digit = R"09"
local last
local function remember(s, i, a, b) last = {i, a, b}; return true, a, b end
cases = {
  {P"ab", "abc"}, {P"x", "abc"}, {C(P"a"^1), "aaab"},
  {C(C"a" * C(P"b"^0)), "abbbc"}, {Cp() * P"ab" * Cp(), "abc"},
  {Cc(1, "two", true, nil, 4.5), ""}, {Cc(), "z"},
  {Cg(C"a" * C"b"), "ab"}, {Cg(C"a", "name") * C"b", "ab"},
  {Ct(Cg(C(digit^1), "n") * " " * Cg(C(digit^1) / tonumber, "m")), "12 34"},
  {Ct(C"a" * Cc(1, 2) * Ct(C"b" * Cg(Cc"v", "k"))), "ab"},
  {Ct(Cg(C"a", "x") * Cg(C"b", "x")), "ab"},
  {Ct(P"a"), "a"}, {Ct(Cg(P"a", "w")), "a"},
  {C(digit^1) / tonumber, "123x"}, {digit^1 / tonumber, "-5"}, {P"1"^1 / tonumber, "112"},
  {C(P"1"^1) / tonumber, "112"}, {P"-" * C(P"1"^1) / tonumber, "-112"}, {C(P"-"^-1 * digit^1) / tonumber, "-5"},
  {C(P(1)^1) / tonumber, "0x10"}, {C(P(1)^1) / tonumber, "99999999999999999999"},
  {(C"a" * C"b") / function(x, y) return y, x, 3 end, "ab"},
  {P"a" / function() end, "a"}, {C"a" / {a = "A"}, "a"}, {C"b" / {a = "A"}, "b"},
  {(C"a" * C"b" * C"c") / 2, "abc"}, {(C"a" * C"b") / 0, "ab"},
  {Cmt(C(digit^1), function(s, i, d) return i, tonumber(d) * 2 end), "21!"},
  {Cmt(P"a", function(s, i) return false end) + C"a", "a"},
  {Cmt(C"a" * C"b", remember) * C"c", "abc"},
  {Ct((Cmt(C(digit), function(_, i, d) return d ~= "5", d .. d end) + C(1))^0), "1523"},
  {Cmt(P"a", function(s, i) return i + 1 end), "abc"},
  {Cmt(P"", function() return 1.0 * 2 end), "xy"},
  {Ct(Cg(Cmt(C(R"az"^1), function(_, i, w) return true, #w end), "len") * Cp()), "word"},
  {C(P"a") * Cmt(Ct(C"b" * C"c"), function(_, i, t) return true, t[2] .. t[1] end), "abc"},
  {P{"S", S = Ct(C"(" * lpeg.V"S"^0 * C")")}, "(()())"},
  {Ct(C(S"ab")^0), ("ab"):rep(300)},
}
"#;

#[test]
fn both_paths_give_the_same_values() {
    let lua = state();
    run(&lua, CASES);
    run(
        &lua,
        r#"
        for i, case in ipairs(cases) do
          local p, s = case[1], case[2]
          for init = -1, 2 do
            local what = "case " .. i .. " init " .. init
            local ok1, fast = pcall(function() return table.pack(p:match(s, init)) end)
            local ok2, general = pcall(function() return table.pack(lpeg.match(p, s, init, nil)) end)
            assert(ok1 == ok2, what)
            if ok1 then
              checkeq(fast, general, what)
            else
              assert(string.find(tostring(general), fast, 1, true), what .. ": " .. fast)
            end
          end
          checkeq(table.pack(lpeg.match(p, s)), table.pack(p:match(s, 1, "extra")), "case " .. i)
        end
        "#,
    );
}

#[test]
fn both_paths_raise_the_same_errors() {
    let lua = state();
    run(
        &lua,
        r#"
        local P, C, Cmt = lpeg.P, lpeg.C, lpeg.Cmt
        local cases = {
          {Cmt(P"a", function() return 7 end), "a", "invalid position"},
          {Cmt(P"a", function() return 0 end), "a", "invalid position"},
          {Cmt(P"a", function() return "x" end), "a", "invalid position"},
          {Cmt(P"a", function() error("from the function") end), "a", "from the function"},
          {(C"a" * C"b") / 3, "ab", "no capture '3'"},
          {C"a" / function() error("in a function capture") end, "a", "in a function capture"},
          {P"a"^0 * Cmt(P"", function() return true, P"x" / {} end), "aa", nil},
        }
        for i, case in ipairs(cases) do
          local p, s, want = case[1], case[2], case[3]
          local ok1, e1 = pcall(p.match, p, s)
          local ok2, e2 = pcall(lpeg.match, p, s, 1, nil)
          assert(ok1 == ok2, "case " .. i)
          if want then
            assert(not ok1, "case " .. i .. " must fail")
            assert(string.find(tostring(e1), want, 1, true), "case " .. i .. ": " .. tostring(e1))
            assert(string.find(tostring(e2), want, 1, true), "case " .. i .. ": " .. tostring(e2))
          end
        end
        -- The stack limit is the same on both paths.
        lpeg.setmaxstack(10)
        local deep = P{"S", S = "(" * lpeg.V"S" * ")" + ""}
        checkerr("backtrack stack overflow", deep.match, deep, ("("):rep(20) .. (")"):rep(20))
        checkerr("backtrack stack overflow", lpeg.match, deep, ("("):rep(20) .. (")"):rep(20), 1, nil)
        lpeg.setmaxstack(400)
        "#,
    );
}

#[test]
fn patterns_match_through_the_c_function() {
    let lua = state();
    run(
        &lua,
        r#"
        local p = lpeg.P"a"
        assert(p.match == lpeg.match, "the method is the C function")
        assert(p:match("a") == 2)
        -- A match inside a match-time capture gets its own buffers.
        local inner = lpeg.Ct(lpeg.C(lpeg.R"az")^1)
        local outer = lpeg.Ct(lpeg.Cmt(lpeg.C(lpeg.R"az"^1), function(_, i, w)
          return true, #inner:match(w)
        end) * lpeg.C(lpeg.P(1)^0))
        checkeq(outer:match("abc!"), {3, "!"})
        -- Inside a coroutine, the C function runs on the coroutine's stack.
        local co = coroutine.wrap(function(s)
          local t = outer:match(s)
          coroutine.yield(t[1])
          return outer:match(s .. "?")[2]
        end)
        assert(co("ab!") == 2 and co() == "!?")
        -- A match-time capture cannot yield across the C function, as
        -- across any C function.
        local yielding = lpeg.Cmt(lpeg.P"a", function() coroutine.yield(1) return true end)
        local ok, err = coroutine.resume(coroutine.create(function() return yielding:match("a") end))
        assert(not ok and string.find(tostring(err), "yield across", 1, true), tostring(err))
        -- Non-pattern first arguments and non-string subjects take the
        -- mlua path with LPeg's conversions.
        assert(lpeg.match("ab", "abc") == 3)
        assert(lpeg.match(lpeg.R"09"^1, 123) == 4)
        assert(lpeg.match(lpeg.Carg(1), "", 1, "x") == "x")
        "#,
    );
    // Programs the C-function path evaluates are published to it; others
    // are marked for the mlua path.
    run(
        &lua,
        "fast_p = lpeg.Ct(lpeg.C(1)) ; fast_p:match('a') ; slow_p = lpeg.Cs(lpeg.P(1)) ; slow_p:match('a')",
    );
    let slot = |name: &str| -> Value {
        let ud: mlua::AnyUserData = lua.globals().get(name).expect(name);
        ud.nth_user_value(2).expect("user value")
    };
    assert!(matches!(slot("fast_p"), Value::LightUserData(_)));
    assert!(matches!(slot("slow_p"), Value::Boolean(false)));
}

/// Matches `p` on `s` both ways; fails unless values (or errors) agree.
const COMPARE: &str = r#"
return function(p, s)
  local ok1, a = pcall(function() return table.pack(p:match(s)) end)
  local ok2, b = pcall(function() return table.pack(lpeg.match(p, s, 1, nil)) end)
  assert(ok1 == ok2, "one path failed: " .. tostring(ok1 and b or a))
  if ok1 then checkeq(a, b) end
  return a
end
"#;

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]

    #[test]
    fn random_patterns_give_the_same_values_both_ways(
        s in spec(),
        in_table in any::<bool>(),
        subjects in proptest::collection::vec("[abcd]{0,8}", 8),
    ) {
        let Some(mut t) = build(&s) else { return Ok(()) };
        if in_table {
            let body = t;
            t = tree::node(Kind::Capture { kind: CapKind::Table, key: 0, n: 0, body })
                .expect("table capture");
        }
        let lua = state();
        let p = push(&lua, Pat::new(t)).expect("pattern");
        let compare: Function = lua.load(COMPARE).eval().expect("compare");
        for subject in &subjects {
            let r = compare.call::<Value>((&p, subject.as_str()));
            prop_assert!(r.is_ok(), "pattern {:?} on {:?}: {:?}", s, subject, r);
        }
    }
}
