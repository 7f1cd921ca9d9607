//! Every capture: `C`, `Carg`, `Cb`, `Cc`, `Cf`, `Cg`, `Cp`, `Cs`, `Ct`,
//! `/ string`, `/ number`, `/ table`, `/ function`, `Cmt`, and their errors.

use super::{run, state};

#[test]
fn simple_and_position_captures() {
    run(
        &state(),
        r##"
      assert(lpeg.C(lpeg.R"az"^1):match"abc1" == "abc")
      local a, b, c = lpeg.match(lpeg.C(lpeg.C(1) * lpeg.C(1)), "xyz")
      assert(a == "xy" and b == "x" and c == "y")
      assert(lpeg.C(lpeg.P"a"^-1):match"b" == "", "capture of an empty match")
      assert(select("#", (lpeg.C"a"^-1):match"b") == 1 and (lpeg.C"a"^-1):match"b" == 1)
      checkeq({lpeg.match(lpeg.Cp() * lpeg.R"az"^1 * lpeg.Cp(), "abcd")}, {1, 5})
      checkeq({lpeg.match(((lpeg.P"a" + lpeg.Cp()) * "x")^0, "axxaxx")}, {3, 6})
      -- a long capture (above any short-length encoding)
      for n = 250, 260 do assert(#lpeg.C(n):match(string.rep("a", n)) == n) end
      -- every nested capture of a recursive rule
      checkeq({lpeg.match(lpeg.P{ lpeg.C(lpeg.C(1) * lpeg.V(1) + -1) }, "abc")},
              {"abc", "a", "bc", "b", "c", "c", ""})
    "##,
    );
}

#[test]
fn constant_and_argument_captures() {
    run(
        &state(),
        r##"
      checkeq({lpeg.match(lpeg.Cc(10, 20, 30) * "a" * lpeg.Cp(), "aaa")}, {10, 20, 30, 2})
      checkeq({lpeg.match(lpeg.Cc() * lpeg.Cc(1) * lpeg.Cc(2, 3) * "a", "a")}, {1, 2, 3})
      assert(lpeg.match(lpeg.Cc(nil), "") == nil)
      assert(select("#", lpeg.match(lpeg.Cc(nil, nil), "")) == 2)
      assert(lpeg.match(lpeg.Cc(print), "") == print)
      assert(lpeg.match(lpeg.Carg(1), "a", 1, print) == print)
      checkeq({lpeg.match(lpeg.Carg(2) * lpeg.Carg(1), "", 1, "x", "y")}, {"y", "x"})
      checkerr("reference to absent extra argument #1", lpeg.match, lpeg.Carg(1), "a")
      checkerr("invalid argument index", lpeg.Carg, 0)
      checkerr("invalid argument index", lpeg.Carg, 70000)
    "##,
    );
}

#[test]
fn group_captures() {
    run(
        &state(),
        r##"
      assert(lpeg.Cg(1):match"x" == "x", "no nested capture: whole match")
      assert(lpeg.Cg(lpeg.P(true) / function() end * 1):match"x" == "x")
      checkeq({lpeg.Cg(lpeg.C(1) * lpeg.C(1)):match"ab"}, {"a", "b"})
      checkeq({lpeg.Cg(lpeg.Cg(lpeg.C(1))^0 * lpeg.Cg(lpeg.Cc(1) * lpeg.Cc(2))):match"abc"},
              {"a", "b", "c", 1, 2})
      -- named groups give no values outside tables and back references
      assert(lpeg.match(lpeg.Cg(lpeg.C"a", "n") * "b", "ab") == 3)
      local t = lpeg.Ct(lpeg.Cg(lpeg.Cc(10), "hi") * lpeg.C(1)^0 * lpeg.Cg(lpeg.Cc(20), "ho")):match"ab"
      checkeq(t, {hi = 10, ho = 20, "a", "b"})
      -- any Lua value can name a group
      local key = {}
      local u = lpeg.Ct(lpeg.Cg(1, key) * lpeg.Cg(1, 2.5) * lpeg.Cg(1, print)):match"abc"
      assert(u[key] == "a" and u[2.5] == "b" and u[print] == "c")
    "##,
    );
}

#[test]
fn back_captures() {
    run(
        &state(),
        r##"
      checkeq(lpeg.match(lpeg.Cg(lpeg.C(1) * lpeg.C(1), "k") * lpeg.Ct(lpeg.Cb("k")), "ab"), {"a", "b"})
      local p = lpeg.P(true)
      for i = 1, 5 do p = p * lpeg.Cg(1, i) end
      for i = 1, 5 do assert((p * lpeg.Cb(i)):match"vwxyz" == ("vwxyz"):sub(i, i)) end
      -- the most recent group wins
      assert(lpeg.match(lpeg.Cg(lpeg.C"a", "g") * lpeg.Cg(lpeg.C"b", "g") * lpeg.Cb"g", "ab") == "b")
      -- groups inside another complete capture are not outermost
      checkerr("back reference 'g' not found", lpeg.match,
               lpeg.Ct(lpeg.Cg(lpeg.C"a", "g")) * lpeg.Cb"g", "a")
      checkerr("back reference 'x' not found", lpeg.match, lpeg.Cb"x", "")
      -- back references are evaluated each time they are used
      local calls = {}
      local function f(s) calls[#calls + 1] = s; return s .. "!" end
      local q = lpeg.Cg(lpeg.C(2) / f, "x") * lpeg.Cb"x" * lpeg.Cg(lpeg.Cb"x" / f, "x") * lpeg.Cb"x"
      checkeq({q:match"ab"}, {"ab!", "ab!!"})
      checkeq(calls, {"ab", "ab", "ab!"})
    "##,
    );
}

#[test]
fn table_captures() {
    run(
        &state(),
        r##"
      checkeq(lpeg.Ct(lpeg.R"az"^1):match"alo", {})
      checkeq(lpeg.Ct(lpeg.C(lpeg.C(1)^1)):match"alo", {"alo", "a", "l", "o"})
      checkeq(lpeg.Ct(lpeg.Ct((lpeg.Cp() * 1 * lpeg.Cp())^1)):match"ab", {{1, 2, 2, 3}})
      local t = lpeg.Ct((lpeg.C(1) / function(x, y) return y, x end * lpeg.Cc(1))^0):match"ab"
      assert(t[1] == nil and t[2] == "a" and t[3] == 1 and t[5] == "b" and t[6] == 1)
      local big = lpeg.Ct(lpeg.C"a"^0):match(string.rep("a", 10000))
      assert(#big == 10000 and big[10000] == "a")
      -- non-UTF-8 bytes survive
      assert(lpeg.Ct(lpeg.C(1)^0):match"\255\0"[1] == "\255")
    "##,
    );
}

/// Table captures are recorded in Rust and built in one call: every kind of
/// key and value takes its own path there (names as bytes or as Lua values,
/// subject text, integers, constants, nested tables, Lua values).
#[test]
fn table_captures_with_every_kind_of_entry() {
    run(
        &state(),
        r##"
      local C, Cc, Cg, Ct, Cp = lpeg.C, lpeg.Cc, lpeg.Cg, lpeg.Ct, lpeg.Cp
      local d = lpeg.R"09"
      local typed = Ct(Cg(d^1 / tonumber, "value") * Cg(Cc"B", "representation"))
      local p = Ct(Cg(C(lpeg.R"az"^1), "word") * " " * Cg(typed, "size") * " "
                   * Cg(C(1), 2.5) * Cg(Cc(true), true) * Cg(Cc(print), "f")
                   * Cc({1, 2}) * Cp() * C(1) * Cg(Cc"x", "word"))
      local t = p:match"get 1234 !?"
      assert(t.word == "x", "a later store of the same name wins")
      checkeq(t.size, {value = 1234, representation = "B"})
      assert(math.type(t.size.value) == "integer")
      assert(t[2.5] == "!" and t[true] == true and t.f == print)
      checkeq(t[1], {1, 2})
      assert(t[2] == 11 and t[3] == "?" and t[4] == nil)
      -- a table inside a function capture, a fold and a Cmt: built first
      assert((Ct(C(1)) / function(x) return x[1] end):match"q" == "q")
      assert(lpeg.Cmt(Ct(C(1) * C(1)), function(_, _, x) return true, #x end):match"ab" == 2)
      -- every kind of value as an argument of a match-time capture
      local args
      lpeg.Cmt(Cc"k" * Cc(print) * C(1) * (d^1 / tonumber) * Cc(nil) * Cp(),
               function(...) args = table.pack(...) return true end):match"x42"
      assert(args.n == 8 and args[1] == "x42" and args[2] == 4 and args[3] == "k")
      assert(args[4] == print and args[5] == "x" and args[6] == 42 and args[7] == nil)
      assert(args[8] == 4)
      checkerr("invalid replacement value (a table)", lpeg.match, lpeg.Cs(Ct(C(1)) / 1), "a")
      -- a NaN group name is an error from Lua, not a crash
      checkerr("index is NaN", lpeg.match, Ct(Cg(C(1), 0/0)), "a")
    "##,
    );
}
#[test]
fn function_query_and_number_captures() {
    run(
        &state(),
        r##"
      local function pack(...) return {...} end
      checkeq(lpeg.match(lpeg.C(1)^0 / pack, "abc"), {"a", "b", "c"})
      checkeq(lpeg.match(lpeg.P(1)^0 / pack, "abc"), {"abc"})
      checkeq(lpeg.match(lpeg.C(lpeg.C(1)^0) / pack, "ab"), {"ab", "a", "b"})
      checkeq({lpeg.match((lpeg.C(1) / function(x) return x, x .. "x" end)^0, "ab")},
              {"a", "ax", "b", "bx"})
      assert(lpeg.match(lpeg.P"a" / function() end, "a") == 2, "no values: position")
      assert(lpeg.match(lpeg.R"09"^1 / tonumber, "42") == 42)
      -- query
      assert(lpeg.match(lpeg.C(1)^0 / {a = 10}, "abc") == 10)
      assert(lpeg.match(lpeg.S"ab"^0 / {ab = 40}, "abc") == 40)
      assert(lpeg.match(lpeg.P"z" / {a = 1}, "z") == 2, "missing key: no value")
      local proxy = setmetatable({}, {__index = function(_, k) return k:upper() end})
      assert(lpeg.match(lpeg.C(1) / proxy, "q") == "Q", "queries use __index")
      -- numbered
      local p = lpeg.C(lpeg.C(lpeg.C(1) * lpeg.C(2)) * lpeg.C(3))
      assert(lpeg.match(p / 3, "abcdefgh") == "a")
      assert(lpeg.match(p / 1, "abcdefgh") == "abcdef")
      assert(lpeg.match(p / 4, "abcdefgh") == "bc")
      assert(lpeg.match(p / 0, "abcdefgh") == 7)
      assert(lpeg.match(lpeg.P"abc" / 1, "abc") == "abc")
      checkerr("no capture '2'", lpeg.match, lpeg.P"abc" / 2, "abc")
      checkerr("invalid number", function() return lpeg.P"a" / -1 end)
    "##,
    );
}

#[test]
fn string_captures() {
    run(
        &state(),
        r##"
      assert(lpeg.match(lpeg.P(1) / "%0", "abc") == "a")
      assert(lpeg.match(lpeg.C"a" / "%1%%%0", "a") == "a%a")
      assert(lpeg.match(lpeg.Cp() * lpeg.P(3) * lpeg.Cp() / "%2%1%1 - %0 ", "abcde") == "411 - abc ")
      -- integers converted while matching, the widest and a negative one
      local int = (lpeg.P"-"^-1 * lpeg.R"09"^1) / tonumber
      assert(lpeg.match(int * " " * int / "%1|%2", "-999999999999999999 12") ==
             "-999999999999999999|12")
      assert(lpeg.match(lpeg.Cc"alo" * lpeg.C(1) / "%1 - %2 - %1", "x") == "alo - x - alo")
      local c = lpeg.C(1)
      local nine = c * c * c * c * c * c * c * c * lpeg.C(1) / "%9 - %1"
      assert(nine:match"1234567890" == "9 - 1")
      -- only %0..%9: extra captures are ignored
      assert(lpeg.match(lpeg.C(1)^0 / "%2-%9-%0", "0123456789ab") == "1-8-0123456789ab")
      checkerr("invalid capture index", lpeg.match, lpeg.P(1) / "%1", "abc")
      checkerr("invalid capture value (a boolean)", lpeg.match, lpeg.Cc(true) / "%1", "a")
      local l = 2000
      local s = string.rep("a", l) .. string.rep("b", l)
      assert(lpeg.match(lpeg.C(lpeg.P"a"^1) * lpeg.C(lpeg.P"b"^1) / "%2%1", s) ==
             string.rep("b", l) .. string.rep("a", l))
    "##,
    );
}

#[test]
fn substitution_captures() {
    run(
        &state(),
        r##"
      local function gsub(s, patt, repl)
        return lpeg.match(lpeg.Cs((lpeg.P(patt) / repl + 1)^0), s)
      end
      assert(gsub("hello world", "o", "0") == "hell0 w0rld")
      assert(gsub("abc", lpeg.C(1), {a = "A", c = "C"}) == "AbC")
      assert(gsub("abc", lpeg.R"az", string.upper) == "ABC")
      assert(gsub("abc", "b", function() return nil end) == "abc", "nil keeps the text")
      assert(lpeg.match(lpeg.Cs(lpeg.C(lpeg.C(1)^0)), "abc") == "abc")
      assert(lpeg.match(1 * lpeg.Cs(lpeg.P(1)^0), "abcd") == "bcd")
      assert(lpeg.match(lpeg.Cs(lpeg.Cc(0) * (lpeg.P(1) / "")), "4321") == "0")
      assert(lpeg.match(lpeg.Cs((lpeg.P(1) / "%0.%0")^0), "ab") == "a.ab.b")
      assert(lpeg.match(lpeg.Cs((lpeg.Cg(lpeg.C(1), "n") + 1)^0), "ab") == "ab",
             "named groups keep their text")
      checkerr("invalid replacement value (a table)", lpeg.match, lpeg.Cs(lpeg.P"a" / {a = {}}), "a")
    "##,
    );
}

#[test]
fn fold_captures() {
    run(
        &state(),
        r##"
      local number = lpeg.R"09"^1 / tonumber
      local list = number * ("," * number)^0
      assert(lpeg.Cf(list, function(acc, v) return acc + v end):match"10,30,43" == 83)
      assert(lpeg.match(lpeg.Cf(lpeg.Cc(0) * lpeg.C(1)^0, function(a) return a + 1 end), "alo") == 3)
      checkeq({lpeg.match(lpeg.Cf(lpeg.Cc(1, 2, 3), error), "")}, {1})
      local kv = lpeg.Cf(lpeg.Ct(true) * lpeg.Cg(lpeg.C(lpeg.R"az"^1) * "=" * lpeg.C(lpeg.R"az"^1) * ";")^0, rawset)
      checkeq(kv:match"a=b;c=du;", {a = "b", c = "du"})
      checkerr("no initial value", lpeg.match, lpeg.Cf(lpeg.P(5), print), "aaaaaa")
      checkerr("no initial value", lpeg.match, lpeg.Cf(lpeg.P(1) / {}, print), "a")
      checkerr("function expected", lpeg.Cf, 1, 2)
    "##,
    );
}

#[test]
fn match_time_captures() {
    run(
        &state(),
        r##"
      local p = lpeg.P"a" * (function(s, i) return s:sub(i, i) == "b" and i + 1 end) + "acd"
      assert(p:match"abc" == 3 and p:match"acd" == 4)
      -- the function gets the subject, the position and the nested values
      local seen
      local q = lpeg.Cmt(lpeg.C(1) * lpeg.C(1), function(s, i, a, b) seen = {s, i, a, b}; return true end)
      assert(q:match"xyz" == 3)
      checkeq(seen, {"xyz", 3, "x", "y"})
      -- extra results become the capture's values
      checkeq({lpeg.match(lpeg.Cmt(1, function(_, i) return i, "v", 7 end), "a")}, {"v", 7})
      -- an explicit nil is a value; nothing returned fails the match
      local r = table.pack(lpeg.match(lpeg.Cmt(1, function() return true, nil end), "a"))
      assert(r.n == 1 and r[1] == nil)
      assert(lpeg.match(lpeg.Cmt(1, function() end), "a") == nil)
      checkerr("invalid position", lpeg.match, lpeg.Cmt(lpeg.P(1)^0, function() return 2 end), "abc")
      checkerr("invalid position", lpeg.match, function() return 100 end, "abc")
      checkerr("invalid position", lpeg.match, lpeg.P(1) * function(_, i) return i - 1 end, "abc")
      assert(lpeg.match(lpeg.P(1)^0 * function(_, i) return true end, "ab") == 3)
      for i = 1, 4 do assert(lpeg.match(function() return i end, "abc") == i) end
      -- evaluated at match time, even if the enclosing pattern fails later
      local count = 0
      local touch = lpeg.P(function() count = count + 1; return true end)
      assert(lpeg.match(touch * "x" + "b", "b") == 2 and count == 1)
      assert(lpeg.match((touch * "a")^0 * "b", "") == nil and count == 2)
      -- values of failed match-time captures are dropped
      local function many(n)
        return lpeg.Cmt("a", function() local t = {} for i = 1, n do t[i] = i end return true, table.unpack(t) end)
      end
      local r = {lpeg.match(lpeg.Cmt(many(20), function() return false end) + many(3), "a")}
      checkeq(r, {1, 2, 3})
      -- match-time capture in an and-predicate: its values are discarded
      local n = 0
      local bump = function() n = n + 1; return true, n end
      assert(lpeg.match(#(lpeg.Cmt("", bump) * "xx") * lpeg.Cmt("", bump), "xx") == 2)
      -- back references inside a match-time capture
      local long = "[" * lpeg.Cg(lpeg.P"="^0, "init") * "[" *
        lpeg.P{ lpeg.Cmt("]" * lpeg.C(lpeg.P"="^0) * "]" * lpeg.Cb"init",
                         function(_, _, a, b) return a == b end) + 1 * lpeg.V(1) } / 0
      assert(long:match"[==[]]====]]]]==]===[]" == 18)
      assert(not long:match"[[]=]====]=]=]==]===[]")
      -- recursion through lpeg.match inside the callback
      local ref = function(s, i) return lpeg.match(lpeg.P"a"^1, s, i) end
      assert(lpeg.match(ref, "aaab") == 4)
      checkerr("function expected", lpeg.Cmt, 1, "x")
    "##,
    );
}

#[test]
fn errors_in_callbacks_propagate() {
    run(
        &state(),
        r##"
      checkerr("boom", lpeg.match, lpeg.P(1) / function() error("boom") end, "a")
      checkerr("boom", lpeg.match, lpeg.Cmt(1, function() error("boom") end), "a")
    "##,
    );
}

#[test]
fn deep_capture_nesting_is_refused() {
    run(
        &state(),
        r##"
      local p = lpeg.C(1)
      for _ = 1, 300 do p = lpeg.Ct(p) end
      checkerr("too deep", p.match, p, "x")
    "##,
    );
}

#[test]
fn tonumber_captures_agree_with_tonumber() {
    run(
        &state(),
        r##"
      local p = lpeg.C((1 - lpeg.P"|")^0) / tonumber
      for _, s in ipairs{"123", " -45 ", "+7", "10.0", "0x10", "1e3", "abc", "",
                         "99999999999999999999", "9223372036854775807", "007"} do
        local got, want = p:match(s), tonumber(s)
        assert(got == want and math.type(got) == math.type(want), s)
      end
      -- with a base argument, the real function runs
      assert(lpeg.match(lpeg.C"ff" * lpeg.Cc(16) / tonumber, "ff") == 255)
      -- a replaced global is not mistaken for it
      local mine = function(s) return "n" .. s end
      assert(lpeg.match(lpeg.C"12" / mine, "12") == "n12")
    "##,
    );
}
