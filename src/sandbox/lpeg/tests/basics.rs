//! Basic constructions: `P`, `S`, `R`, `B`, `utfR`, predicates, operators,
//! repetition, `match` arguments, `type`, `version`, `locale`.

use super::{run, state};

#[test]
fn manual_first_example() {
    run(
        &state(),
        r##"
      local p = lpeg.R"az"^1 * -1
      assert(p:match("hello") == 6)
      assert(lpeg.match(p, "hello") == 6)
      assert(p:match("1 hello") == nil)
    "##,
    );
}

#[test]
fn module_functions() {
    run(
        &state(),
        r##"
      assert(lpeg.version() == "1.0.2")
      assert(lpeg.type(lpeg.P"x") == "pattern")
      assert(lpeg.type("x") == nil and lpeg.type({}) == nil and lpeg.type(nil) == nil)
      local p = lpeg.P"abc"
      assert(lpeg.P(p) == p, "P returns patterns unchanged")
    "##,
    );
}

#[test]
fn p_converts_values() {
    run(
        &state(),
        r##"
      assert(lpeg.match("ab", "abc") == 3)
      assert(lpeg.match("", "abc") == 1)
      assert(lpeg.match("abd", "abc") == nil)
      assert(lpeg.match(3, "abcd") == 4)
      assert(lpeg.match(5, "abcd") == nil)
      assert(lpeg.match(0, "") == 1)
      -- negative: fewer than n characters left
      assert(lpeg.match(-2, "a") == 1)
      assert(lpeg.match(-2, "ab") == nil)
      assert(lpeg.match(true, "") == 1)
      assert(lpeg.match(false, "x") == nil)
      -- a function is a match-time capture over the empty string
      assert(lpeg.match(function(s, i) return i + 2 end, "abcd") == 3)
      assert(lpeg.match("\0b\0", "\0b\0c") == 4)
      checkerr("pattern expected", lpeg.match, nil, "x")
      checkerr("value expected", lpeg.P)
    "##,
    );
}

#[test]
fn sets_and_ranges() {
    run(
        &state(),
        r##"
      local vowel = lpeg.S"aeiou"
      assert(vowel:match"e" == 2 and vowel:match"x" == nil)
      assert(lpeg.match(lpeg.R("az", "AZ")^1, "Hello1") == 6)
      assert(lpeg.match(lpeg.R("09"), "7") == 2)
      assert(lpeg.match(lpeg.S"", "a") == nil)
      assert(lpeg.match(lpeg.R(), "a") == nil)
      assert(lpeg.match(lpeg.R"\0\255"^0, "\0\128\255") == 4)
      -- set algebra
      local letters = lpeg.R"az"
      local consonant = letters - vowel
      assert(consonant:match"b" == 2 and consonant:match"a" == nil)
      local notdigit = 1 - lpeg.R"09"
      assert(notdigit:match"x" == 2 and notdigit:match"5" == nil)
      assert((vowel + lpeg.S"xyz"):match"y" == 2)
      checkerr("range must have two characters", lpeg.R, "abc")
    "##,
    );
}

#[test]
fn ordered_choice_and_sequence() {
    run(
        &state(),
        r##"
      local p = lpeg.P"ab" + "a"
      assert(p:match"ab" == 3 and p:match"ac" == 2 and p:match"b" == nil)
      -- ordered: the first alternative that matches wins
      assert(lpeg.match(lpeg.P"a" + "ab", "ab") == 2)
      assert(lpeg.match(lpeg.P"a" * "b" * "c", "abcd") == 4)
      assert(lpeg.match(lpeg.P(false) + "a", "a") == 2)
      assert(lpeg.match("a" * lpeg.P(false), "a") == nil)
      assert(lpeg.match(lpeg.P(true) * "a", "a") == 2)
      -- alternatives sharing prefixes and first characters
      local kw = lpeg.P"for" + "foreach" + "function" + "f"
      assert(kw:match"foreach" == 4)
      local q = lpeg.P"abc" + "abd" + "xyz" + lpeg.R"09"^1
      assert(q:match"abd" == 4 and q:match"xyz" == 4 and q:match"123" == 4)
      assert(lpeg.match((lpeg.P"ab" + "cd" + "ax")^0, "abcdaxab") == 9)
      assert(lpeg.match(("a" * lpeg.P"b"^0 * "c" + "ad"), "ad") == 3)
    "##,
    );
}

#[test]
fn predicates() {
    run(
        &state(),
        r##"
      assert(lpeg.match(-lpeg.P(1), "") == 1)
      assert(lpeg.match(-lpeg.P(1), "x") == nil)
      assert(lpeg.match(#lpeg.P"a" * 1, "ab") == 2)
      assert(lpeg.match(#lpeg.P"a", "b") == nil)
      assert(lpeg.match(-lpeg.P"a" * 1, "ab") == nil)
      assert(lpeg.match(- -lpeg.P"a" * 1, "ab") == 2)
      -- predicates consume nothing and '#' drops captures
      assert(lpeg.match(#lpeg.C"ab" * lpeg.Cp(), "ab") == 1)
      assert(lpeg.match(lpeg.P"ab" - "abc", "abd") == 3)
      assert(lpeg.match(lpeg.P"ab" - "abc", "abc") == nil)
      local identifier = lpeg.R"az"^1 - (lpeg.P"end" * -lpeg.R"az")
      assert(identifier:match"ending" == 7 and identifier:match"end" == nil)
    "##,
    );
}

#[test]
fn look_behind() {
    run(
        &state(),
        r##"
      assert(lpeg.match(lpeg.B"a", "a") == nil)
      assert(lpeg.match(1 * lpeg.B"a", "a") == 2)
      assert(lpeg.match(2 * lpeg.B(lpeg.S"ab" * "c"), "bc") == 3)
      assert(lpeg.match(-lpeg.B(1), "x") == 1)
      -- a word boundary
      local alpha = lpeg.R"az"
      local boundary = #alpha * -lpeg.B(alpha) + -alpha * lpeg.B(alpha)
      local marks = lpeg.Ct(lpeg.P{ (boundary * lpeg.Cp())^-1 * (1 * lpeg.V(1) + true) })
      checkeq(marks:match"ab cd", {1, 3, 4, 6})
      checkerr("pattern may not have fixed length", lpeg.B, lpeg.P"a"^1)
      checkerr("pattern have captures", lpeg.B, lpeg.C"a")
      checkerr("too long to look behind", lpeg.B, 300)
      checkerr("fixed length", lpeg.B, lpeg.V"x")
      assert(lpeg.match(3 * lpeg.B{ "r", r = lpeg.P"bc" }, "abc") == 4)
    "##,
    );
}

#[test]
fn repetitions() {
    run(
        &state(),
        r##"
      local a = lpeg.P"a"
      assert((a^0):match"" == 1 and (a^0):match"aaab" == 4)
      assert((a^1):match"" == nil and (a^1):match"aa" == 3)
      assert((a^3):match"aa" == nil and (a^3):match"aaaaa" == 6)
      assert((a^-1):match"aa" == 2 and (a^-1):match"b" == 1)
      assert((a^-3):match"aaaaa" == 4)
      -- possessive: no backtracking into a loop
      assert(lpeg.match(a^0 * "a", "aaa") == nil)
      assert(lpeg.match((lpeg.P"ab" + "a")^0 * "c", "abac") == 5)
      assert(lpeg.match(lpeg.P(2)^1, "abcde") == 5)
      checkerr("loop body may accept empty string", function() return lpeg.P""^0 end)
      checkerr("loop body may accept empty string", function() return (a^0)^1 end)
      checkerr("loop body may accept empty string", function() return (-a)^0 end)
      assert(lpeg.match((a^-2)^-2, "aaaaa") == 5)
      assert(lpeg.match(lpeg.P"x"^-4 * "y", "xxy") == 4)
    "##,
    );
}

#[test]
fn init_argument() {
    run(
        &state(),
        r##"
      assert(lpeg.match("b", "abc", 2) == 3)
      assert(lpeg.match("c", "abc", -1) == 4)
      assert(lpeg.match("abc", "abc", -10) == 4)
      assert(lpeg.match(1, "abc", 4) == nil)
      assert(lpeg.match("", "abc", 10) == 4)
      assert(lpeg.P"a":match("xa", 2) == 3)
      assert(lpeg.match(lpeg.Cp(), "abc", 0) == 4, "0 starts at the end (LPeg 1.0)")
      -- numbers are accepted as subjects, like Lua's string functions
      assert(lpeg.match(lpeg.R"09"^1, 1234) == 5)
      checkerr("string expected", lpeg.match, 1, {})
    "##,
    );
}

#[test]
fn locale_classes() {
    run(
        &state(),
        r##"
      local l = lpeg.locale()
      for _, k in ipairs{"alnum","alpha","cntrl","digit","graph","lower","print","punct","space","upper","xdigit"} do
        assert(lpeg.type(l[k]) == "pattern", k)
      end
      assert(l.digit:match"5" and not l.digit:match"a")
      assert(l.space:match"\t" and l.space:match"\v" and not l.space:match"x")
      assert(l.punct:match"!" and not l.punct:match"a")
      local t = {}
      assert(lpeg.locale(t) == t and lpeg.type(t.alpha) == "pattern")
      -- the manual's name-value example
      lpeg.locale(lpeg)
      local space = lpeg.space^0
      local name = lpeg.C(lpeg.alpha^1) * space
      local sep = lpeg.S(",;") * space
      local pair = lpeg.Cg(name * "=" * space * name) * sep^-1
      local list = lpeg.Cf(lpeg.Ct("") * pair^0, rawset)
      checkeq(list:match("a=b, c = hi; next = pi"), {a = "b", c = "hi", next = "pi"})
    "##,
    );
}

#[test]
fn utf8_ranges() {
    run(
        &state(),
        r##"
      local cyr = lpeg.utfR(0x410, 0x44f)
      assert(cyr:match"ж" == 3 and cyr:match"a" == nil)
      local any = lpeg.utfR(0, 0x10ffff)
      assert((any^0):match"añ€😀" == #"añ€😀" + 1)
      assert((any^0):match"\255" == 1)
      assert((any^0):match"\244\143\191\191" == 5, "U+10FFFF")
      assert(any:match"\244\144\128\128" == nil, "beyond U+10FFFF")
      assert(any:match"\192\128" == nil, "overlong")
      assert(lpeg.utfR(0x61, 0x7a):match"q" == 2)
      checkerr("empty range", lpeg.utfR, 2, 1)
      checkerr("invalid code point", lpeg.utfR, 1, 0x110000)
      -- UTF-8 decoding grammar from lpeg primitives
      local cont = lpeg.R"\128\191"
      local utf8char = lpeg.R"\0\127" / string.byte
        + lpeg.R"\194\223" * cont / function(s)
            local a, b = s:byte(1, 2); return (a - 0xc0) * 64 + (b - 0x80) end
        + lpeg.R"\224\239" * cont * cont / function(s)
            local a, b, c = s:byte(1, 3)
            return ((a - 0xe0) * 64 + (b - 0x80)) * 64 + (c - 0x80) end
      local decode = lpeg.Ct(utf8char^0) * -1
      checkeq(decode:match"aé€", {0x61, 0xe9, 0x20ac})
      assert(decode:match"a\255" == nil)
    "##,
    );
}

#[test]
fn operators_accept_plain_values() {
    run(
        &state(),
        r##"
      local p = lpeg.P"abc" * 2 * -5 * true * "de"
      assert(p:match"abc01de" == 8 and p:match"abc01de3456" == nil)
      local q = "abc" * (2 * (-5 * (true * lpeg.P"de")))
      assert(q:match"abc01de" == 8)
      assert(("x" + lpeg.P"y"):match"y" == 2)
      assert((lpeg.P(1) - "a"):match"b" == 2)
      local both = lpeg.P(function(s, i) return i end) + function() return nil end
      assert(both:match"alo" == 1)
      local seq = lpeg.P(function(s, i) return i end) * function() return nil end
      assert(seq:match"alo" == nil)
      checkerr("unexpected boolean as 2nd operand", function() return lpeg.P"a" / true end)
      checkerr("number expected", function() return lpeg.P"a" ^ "x" end)
    "##,
    );
}

#[test]
fn methods_mirror_module_functions() {
    run(
        &state(),
        r##"
      local p = lpeg.R"az"^1
      assert(p:C():match"abc1" == "abc")
      checkeq(lpeg.C(1):Ct():match"x", {"x"})
      assert(p.match(p, "ab") == 3)
    "##,
    );
}
