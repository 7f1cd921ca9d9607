//! Grammars: initial rules, the manual's examples (balanced parentheses,
//! CSV, arithmetic with folding, equal counts), nested grammars, tail calls,
//! and the errors LPeg reports for bad grammars.

use super::{run, state};

#[test]
fn initial_rule_by_index_or_name() {
    run(
        &state(),
        r##"
      local V = lpeg.V
      local equalcount = lpeg.P{
        "S";
        S = "a" * V"B" + "b" * V"A" + "",
        A = "a" * V"S" + "b" * V"A" * V"A",
        B = "b" * V"S" + "a" * V"B" * V"B",
      } * -1
      assert(equalcount:match"abba" == 5 and equalcount:match"aabbb" == nil)
      assert(lpeg.match({ "a" * V(1) + "" }, "aaa") == 4)
      local g = {}
      for i = 1, 5 do g["r" .. i] = "a" * V("r" .. (i + 1)) end
      g.r6 = lpeg.P""
      for i = 1, 5 do g[1] = "r" .. i; assert(lpeg.match(g, "aaaaaa") == 7 - i) end
      -- odd rule names
      local odd = lpeg.P{ "print", print = V(print), [print] = V(_G), [_G] = lpeg.P"a" }
      assert(odd:match"a" == 2)
    "##,
    );
}

#[test]
fn balanced_parentheses() {
    run(
        &state(),
        r##"
      local b = lpeg.P{ "(" * ((1 - lpeg.S"()") + lpeg.V(1))^0 * ")" }
      assert(b:match"(a(b)((c) (d)))" == 16)
      assert(b:match"(a(b ((c) (d)))" == nil)
      assert((b * -1):match"((x)" == nil)
    "##,
    );
}

#[test]
fn csv_from_the_manual() {
    run(
        &state(),
        r##"
      local field = '"' * lpeg.Cs(((lpeg.P(1) - '"') + lpeg.P'""' / '"')^0) * '"' +
                    lpeg.C((1 - lpeg.S',\n"')^0)
      local record = field * (',' * field)^0 * (lpeg.P'\n' + -1)
      checkeq({record:match'a,"b ""quoted"", c",,d\n'}, {"a", 'b "quoted", c', "", "d"})
      local rect = lpeg.Ct(field * (',' * field)^0) * (lpeg.P'\n' + -1)
      checkeq(rect:match"1,2,3", {"1", "2", "3"})
    "##,
    );
}

#[test]
fn arithmetic_with_tree_and_fold() {
    run(
        &state(),
        r##"
      local Space = lpeg.S(" \n\t")^0
      local Number = lpeg.C(lpeg.P"-"^-1 * lpeg.R("09")^1) * Space
      local TermOp = lpeg.C(lpeg.S("+-")) * Space
      local FactorOp = lpeg.C(lpeg.S("*/")) * Space
      local Open = "(" * Space
      local Close = ")" * Space
      local V = lpeg.V
      -- as a syntax tree
      local Exp, Term, Factor = V"Exp", V"Term", V"Factor"
      local G = Space * lpeg.P{ Exp,
        Exp = lpeg.Ct(Term * (TermOp * Term)^0);
        Term = lpeg.Ct(Factor * (FactorOp * Factor)^0);
        Factor = Number + Open * Exp * Close;
      } * -1
      local function eval(x)
        if type(x) == "string" then return tonumber(x) end
        local acc = eval(x[1])
        for i = 2, #x, 2 do
          local op, v = x[i], eval(x[i + 1])
          if op == "+" then acc = acc + v elseif op == "-" then acc = acc - v
          elseif op == "*" then acc = acc * v else acc = acc / v end
        end
        return acc
      end
      assert(eval(G:match"3 + 5*9 / (1+1) - 12") == 13.5)
      -- folding on the fly
      local function apply(v1, op, v2)
        if op == "+" then return v1 + v2 elseif op == "-" then return v1 - v2
        elseif op == "*" then return v1 * v2 else return v1 / v2 end
      end
      local F = lpeg.P{ "Exp",
        Exp = lpeg.Cf(V"Term" * lpeg.Cg(TermOp * V"Term")^0, apply);
        Term = lpeg.Cf(V"Factor" * lpeg.Cg(FactorOp * V"Factor")^0, apply);
        Factor = Number / tonumber + Open * V"Exp" * Close;
      }
      assert(lpeg.match(F, "3 + 5*9 / (1+1) - 12") == 13.5)
      for _, s in ipairs{"3+4/2", "2*(3+4)*5", " 1 - 2 - 3"} do
        assert(lpeg.match(Space * F * -1, s) == load("return " .. s)(), s)
      end
    "##,
    );
}

#[test]
fn search_idioms() {
    run(
        &state(),
        r##"
      local function anywhere(p) return lpeg.P{ lpeg.Cp() * p * lpeg.Cp() + 1 * lpeg.V(1) } end
      checkeq({anywhere("world"):match"hello world!"}, {7, 12})
      local function anywhere2(p) return (1 - lpeg.P(p))^0 * lpeg.Cp() * p * lpeg.Cp() end
      checkeq({anywhere2("lo"):match"hello"}, {4, 6})
      local function split(s, sep)
        sep = lpeg.P(sep)
        local elem = lpeg.C((1 - sep)^0)
        return lpeg.match(lpeg.Ct(elem * (sep * elem)^0), s)
      end
      checkeq(split("a,b,,c", ","), {"a", "b", "", "c"})
    "##,
    );
}

#[test]
fn nested_grammars_and_open_calls() {
    run(
        &state(),
        r##"
      local p = { ("a" * lpeg.V(1))^-1 } * lpeg.P"b" * { "a" * lpeg.V(2); lpeg.V(1)^-1 }
      assert(lpeg.match(p, "aaabaac") == 7)
      local q = lpeg.P{ (lpeg.P{ lpeg.P"abc" } + "ayz") * lpeg.V"y"; y = lpeg.P"x" }
      assert(q:match"abcx" == 5 and q:match"ayzx" == 5 and not q:match"abc")
      local r = { lpeg.V(2), lpeg.P"abc" } * (lpeg.P{ "xx", xx = lpeg.P"xx" } + { "x", x = lpeg.P"a" * lpeg.V"x" + "" })
      assert(r:match"abcaaaxx" == 7 and r:match"abcxx" == 6)
      -- the same grammar used twice in one pattern
      local g = lpeg.P{ "a" * lpeg.V(1) + "b" }
      assert((g * "," * g):match"aab,b" == 6)
    "##,
    );
}

#[test]
fn tail_calls_and_stack_limits() {
    run(
        &state(),
        r##"
      local p = lpeg.P{ "a" * lpeg.V(1) + "" }
      assert(p:match(string.rep("a", 100000)) == 100001, "tail calls need no stack")
      local dfa = lpeg.P{
        [1] = "0" * lpeg.V(2) + "1" * lpeg.V(3) + -1,
        [2] = "0" * lpeg.V(1) + "1" * lpeg.V(4),
        [3] = "0" * lpeg.V(4) + "1" * lpeg.V(1),
        [4] = "0" * lpeg.V(3) + "1" * lpeg.V(2),
      }
      assert(dfa:match(string.rep("01", 10000)) and not dfa:match(string.rep("011", 10000) .. "1"))
      local deep = lpeg.P{ "0" * lpeg.V(1) + "0" }
      checkerr("backtrack stack overflow (current limit is 400)", lpeg.match, deep, string.rep("0", 1000))
      lpeg.setmaxstack(2100)
      assert(deep:match(string.rep("0", 1000)) == 1001)
      lpeg.setmaxstack(400)
      checkerr("stack overflow", lpeg.match, deep, string.rep("0", 1000))
      checkerr("out of range", lpeg.setmaxstack, 0)
    "##,
    );
}

#[test]
fn grammar_errors() {
    run(
        &state(),
        r##"
      checkerr("rule '1' may be left recursive", lpeg.match, { lpeg.V(1) * "a" }, "a")
      checkerr("rule 'x' may be left recursive", lpeg.P, { "x", x = lpeg.P"a"^-1 * lpeg.V"x" })
      checkerr("rule '2' may be left recursive", lpeg.P, { 1 * lpeg.V(2), lpeg.V(2) })
      checkerr("may be left recursive", lpeg.P, { #lpeg.P"a" * lpeg.V(1) })
      checkerr("may be left recursive", lpeg.P, { -(lpeg.V(1) * "a") })
      checkerr("may be left recursive", lpeg.P, { lpeg.B"abc" * lpeg.V(1) })
      local chain = { "a",
        a = lpeg.V"b" * lpeg.V"c" * lpeg.V"a", b = lpeg.V"c", c = lpeg.P"" }
      checkerr("rule 'a' may be left recursive", lpeg.P, chain)
      checkerr("rule 'hi' undefined in given grammar", lpeg.match, { lpeg.V"hi" }, "")
      checkerr("rule '(a table)' undefined in given grammar", lpeg.P, { lpeg.V{} })
      checkerr("rule 'hi' used outside a grammar", lpeg.match, lpeg.V"hi", "")
      checkerr("rule '1' used outside a grammar", lpeg.match, lpeg.V(1), "")
      checkerr("rule 'A' is not a pattern", lpeg.P, { lpeg.P(1), A = {} })
      checkerr("grammar has no initial rule", lpeg.P, { [print] = lpeg.P(1) })
      checkerr("initial rule 'x' is not a pattern", lpeg.P, { "x", x = "abc" })
      checkerr("empty loop in rule '1'", lpeg.P, { 1 * lpeg.V(2)^0, lpeg.P(0) })
      checkerr("empty loop in rule 'x'", lpeg.P, { "x", x = lpeg.P"a" * lpeg.V"y"^1, y = #lpeg.P(1) })
      checkerr("non-nil value expected", lpeg.V, nil)
      -- fine grammars
      lpeg.P{ ("a" * lpeg.V(1))^-1 }
      lpeg.P{ -("a" * lpeg.V(1)) }
      lpeg.P{ #("a" * lpeg.V(1)) }
      assert(lpeg.match({ "a" * -lpeg.V(1) }, "aaa") == 2)
      assert(lpeg.match(lpeg.P{ lpeg.V(2) * lpeg.V(3), lpeg.V(3), lpeg.P(1) }^0, "abcd") == 5)
    "##,
    );
}

#[test]
fn large_grammars() {
    run(
        &state(),
        r##"
      local t = {}
      for i = 3, 1000 do t[i] = lpeg.V(i - 1) end
      t[1] = lpeg.V(1000)
      t[2] = lpeg.C"alo"
      assert(lpeg.P(t):match"alo" == "alo")
      t[1001] = lpeg.P"x"
      checkerr("too many rules", lpeg.P, t)
      local p = lpeg.P"a"
      for _ = 1, 14 do p = p * p end
      assert(p:match(string.rep("a", 2^14)) == 2^14 + 1)
    "##,
    );
}
