//! `match` as a C function (`fast`): it is what patterns' `match` method
//! and `lpeg.match` are, it runs on the calling coroutine, unusual
//! arguments are converted by LPeg's rules first, and its errors are
//! LPeg's plain texts or the script's own error values.

use super::{run, state};

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
        "#,
    );
}

#[test]
fn unusual_arguments_are_converted_first() {
    let lua = state();
    run(
        &lua,
        r#"
        -- Patterns by lpeg.P's rules, subjects and init by Lua's.
        assert(lpeg.match("ab", "abc") == 3)
        assert(lpeg.match(2, "abc") == 3)
        assert(lpeg.match({lpeg.P"x" + 1 * lpeg.V(1)}, "abx") == 4)
        assert(lpeg.match(lpeg.R"09"^1, 123) == 4)
        assert(lpeg.match(lpeg.C(1), "abc", 2.0) == "b")
        assert(lpeg.match(lpeg.C(1), "abc", "3") == "c")
        -- Extra arguments, for Carg, in every form of the call.
        assert(lpeg.match(lpeg.Carg(1), "", 1, "x") == "x")
        assert(lpeg.match(lpeg.Carg(2), "", nil, "x", "y") == "y")
        assert(lpeg.match("", 5, 1.0, "x") == 1)
        checkeq({lpeg.P(lpeg.Carg(1) * lpeg.Carg(3)):match("z", 1, "a", "b", "c")}, {"a", "c"})
        -- LPeg's errors for what cannot be converted.
        checkerr("bad argument #2 to 'match' (string expected, got nil)", lpeg.match, lpeg.P(1))
        checkerr("bad argument #2 to 'match' (string expected, got table)", lpeg.match, "a", {})
        checkerr("bad argument #3 to 'match'", lpeg.match, "a", "a", "x")
        checkerr("bad argument #3 to 'match'", lpeg.match, "a", "a", 1.5)
        "#,
    );
}

#[test]
fn errors_are_lpegs_texts_or_the_scripts_values() {
    let lua = state();
    run(
        &lua,
        r#"
        local P, C, Cmt = lpeg.P, lpeg.C, lpeg.Cmt
        local function err(p, s, ...)
          local ok, e = pcall(lpeg.match, p, s, ...)
          assert(not ok, "must fail")
          return e
        end
        -- No position and no decoration: C LPeg's errors come from a C
        -- function too.
        assert(err(Cmt(P"a", function() return 7 end), "a")
          == "invalid position returned by match-time capture")
        assert(err((C"a" * C"b") / 3, "ab") == "no capture '3'")
        assert(err(lpeg.Cb"x", "") == "back reference 'x' not found")
        assert(err(lpeg.Carg(2), "", 1, "only one") == "reference to absent extra argument #2")
        -- A script's error value comes back as it was raised.
        local value = {}
        assert(err(Cmt(P"a", function() error(value) end), "a") == value)
        assert(err(C"a" / function() error(value) end, "a") == value)
        -- The stack limit applies.
        lpeg.setmaxstack(10)
        local deep = P{"S", S = "(" * lpeg.V"S" * ")" + ""}
        assert(err(deep, ("("):rep(20) .. (")"):rep(20))
          == "backtrack stack overflow (current limit is 10)")
        lpeg.setmaxstack(400)
        "#,
    );
}
