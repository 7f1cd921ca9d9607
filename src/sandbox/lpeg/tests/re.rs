//! The `re` module: syntax, functions, the manual's examples, errors.

use super::{run, state};

#[test]
fn manual_program() {
    run(
        &state(),
        r##"
      checkeq({re.find("the number 423 is odd", "[0-9]+")}, {12, 14})
      checkeq({re.match("the number 423 is odd", "({%a+} / .)*")}, {"the", "number", "is", "odd"})
      assert(re.match("the number 423 is odd", "s <- {%d+} / . s") == "423")
      assert(re.gsub("hello World", "[aeiou]", ".") == "h.ll. W.rld")
    "##,
    );
}

#[test]
fn basic_syntax() {
    run(
        &state(),
        r##"
      assert(re.match("a", ".") == 2)
      assert(re.match("a", "''") == 1)
      assert(re.match("", " ! . ") == 1 and not re.match("a", " ! . "))
      assert(re.match("abcde", "  ( . . ) * ") == 5)
      assert(re.match("abbcde", " [a-c] +") == 5)
      assert(re.match("0zz1dda", "'0' [^a-c]+ 'a'") == 8)
      assert(re.match("abbc--", " [-acb] + ") == 7)
      assert(re.match('abb"de', '"abb"["]"de"') == 7)
      assert(re.match("abceeef", "'ac' ? 'ab' * 'c' { 'e' * } / 'abceeef' ") == "eee")
      assert(re.match("aaand", "[a]^2") == 3)
      local s = string.rep("a", 10)
      assert(re.match(s, "'a'^3") == 4 and re.match(s, "'a'^+3") == 11)
      assert(re.match(s, "'a'^-5") == 6 and not re.match(s, "'a'^+11"))
      checkeq({re.match("abceefe", "( ( & 'e' {} ) ? . ) * ")}, {4, 5, 7})
      checkeq({re.match("abceefe", "((&&'e' {})? .)*")}, {4, 5, 7})
      assert(re.match("cdx", "'ab'? ('ccc' / ('cde' / 'cd'*)? / 'ccc') 'x'+") == 4)
      -- comments and old-style non-terminals
      local e = re.compile[[
        A  <- <B>   -- a comment <- -> .
        B <- 'x'  --]]
      assert(e:match"xy" == 2)
    "##,
    );
}

#[test]
fn classes() {
    run(
        &state(),
        r##"
      local all = {}
      for i = 0, 255 do all[#all + 1] = string.char(i) end
      all = table.concat(all)
      local function members(p) return lpeg.match(lpeg.Cs((lpeg.P(p) + lpeg.P(1) / "")^0), all) end
      assert(members(re.compile"[]]") == "]")
      assert(members(re.compile"[][]") == "[]")
      assert(members(re.compile"[]-]") == "-]")
      assert(members(re.compile"[-]") == "-")
      assert(members(re.compile"[az-]") == "-az")
      assert(members(re.compile"[a-c]") == "abc")
      assert(#members(re.compile"[^a-c]") == 253)
      for _, c in ipairs{"a", "d", "l", "p", "s", "u", "w", "x", "c"} do
        assert(members(re.compile("%" .. c)) == all:gsub("[^%" .. c .. "]", ""), c)
        local upper = c:upper()
        assert(members(re.compile("%" .. upper)) == all:gsub("[^%" .. upper .. "]", ""), upper)
      end
      assert(members(re.compile"[_%w]") == all:gsub("[^_%w]", ""))
      assert(members(re.compile"%nl") == "\n")
      assert(members(re.compile"%digit") == "0123456789")
    "##,
    );
}

#[test]
fn captures_in_re() {
    run(
        &state(),
        r##"
      assert(re.match("01234567890123456789", "({....}{...}) -> '%2%1'") == "4560123")
      checkeq(re.match("0123", "{| {.}* |}"), {"0", "1", "2", "3"})
      assert(re.match("012345", "{| (..) -> '%0%0' |}")[1] == "0101")
      assert(re.match("abcdef", "( {.} {.} {.} {.} {.} ) -> 3") == "c")
      assert(re.match("abcdef", "( {:x: . :} {.} {.} {.} {.} ) -> 3") == "d")
      assert(re.match("abcdef", "( {:x: . :} {.} {.} {.} {.} ) -> 0") == 6)
      assert(not re.match("abcdef", "{:x: ({.} {.} {.}) -> 2 :} =x"))
      assert(re.match("abcbef", "{:x: ({.} {.} {.}) -> 2 :} =x"))
      checkeq(re.match("1234", "{| {:a:.:} {:b:.:} {:c:.{.}:} |}"), {a = "1", b = "2", c = "4"})
      checkeq(re.match("12345", "{| {:.:} {:b:{.}{.}:} {:{.}{.}:} |}"), {"1", b = "2", "4", "5"})
      checkeq({re.match("abc", "{:S <- {:.:} {S} / '':}")}, {"a", "bc", "b", "c", "c", ""})
      assert(re.match("aloalo", "{~ (((&'al' {.}) -> 'A%1' / (&%l {.}) -> '%1%1') / .)* ~}") == "AallooAalloo")
      checkeq(re.match("ab", "{| . -> {} . -> {} |}"), {{}, {}})
      checkeq({re.match("alo", "&(&{.}) !{'b'} {&(...)} &{..} {...} {!.}")}, {"", "alo", ""})
    "##,
    );
}

#[test]
fn definitions() {
    run(
        &state(),
        r##"
      local defs = {digits = lpeg.R"09", letters = lpeg.R"az", _ = lpeg.P"__"}
      assert(re.compile("%letters (%letters / %digits)*", defs):match"x123" == 5)
      assert(re.compile("%_", defs):match"__" == 3)
      local e = re.compile("{[0-9]+'.'?[0-9]*} -> sin", math)
      assert(e:match"2.34" == math.sin(2.34))
      assert(re.compile("'pi' -> math", _G):match"pi" == math.pi)
      local c = re.compile([[
        S <- (number (%s+ number)*) ~> add
        number <- %d+ -> tonumber
      ]], {tonumber = tonumber, add = function(a, b) return a + b end})
      assert(c:match"3 401 50" == 454)
      local function addtag(s, i, t, tag) t.tag = tag; return i, t end
      local doc = re.compile([[
        doc <- block !.
        block <- (start {| (block / { [^<]+ })* |} end?) => addtag
        start <- '<' {:tag: [a-z]+ :} '>'
        end <- '</' { =tag } '>'
      ]], {addtag = addtag})
      checkeq(doc:match"<x>hi<b>hello</b>but<b>totheend</x>",
              {tag = "x", "hi", {tag = "b", "hello"}, "but", {"totheend"}})
    "##,
    );
}

#[test]
fn manual_examples() {
    run(
        &state(),
        r##"
      local b = re.compile[[  balanced <- "(" ([^()] / balanced)* ")"  ]]
      assert(b == lpeg.P(b) and b:match"((((a))(b)))")
      local rev = re.compile[[ R <- (!.) -> '' / ({.} R) -> '%2%1']]
      assert(rev:match"0123456789" == "9876543210")
      local record = re.compile[[
        record <- {| field (',' field)* |} (%nl / !.)
        field <- escaped / nonescaped
        nonescaped <- { [^,"%nl]* }
        escaped <- '"' {~ ([^"] / '""' -> '"')* ~} '"'
      ]]
      checkeq(record:match'x,"y""z",,w', {"x", 'y"z', "", "w"})
      local c = re.compile([[
        longstring <- ('[' {:eq: '='* :} '[' close)
        close <- ']' =eq ']' / . close
      ]])
      assert(c:match"[==[]]===]]]]==]===[]" == 17)
      local tags = re.compile[[
        listname <- {| {:tag: '' -> 'list':} (name s)* |}
        name <- {| {:tag: '' -> 'id':} {[a-z][a-z]*} |}
        s <- ' '*
      ]]
      checkeq(tags:match"hi hello bye",
              {tag = "list", {tag = "id", "hi"}, {tag = "id", "hello"}, {tag = "id", "bye"}})
      local blocks = re.compile[[
        block <- {| {:ident:' '*:} line
                 ((=ident !' ' line) / &(=ident ' ') block)* |}
        line <- {[^%nl]*} %nl
      ]]
      local t = blocks:match("first line\n  subline 1\n  subline 2\nsecond line\n")
      checkeq(t, {"first line", {"subline 1", "subline 2", ident = "  "}, "second line", ident = ""})
      local macros = re.compile[[
        text <- {~ item* ~}
        item <- macro / [^()] / '(' item* ')'
        arg <- ' '* {~ (!',' item)* ~}
        args <- '(' arg (',' arg)* ')'
        macro <- ('apply' args) -> '%1(%2)'
               / ('add' args) -> '%1 + %2'
               / ('mul' args) -> '%1 * %2'
      ]]
      assert(macros:match"add(mul(a,b), apply(f,x))" == "a * b + f(x)")
      local nested = re.compile[[
        s <- a b !.
        b <- ( x <- ('b' x)? )
        a <- ( x <- 'a' x? )
      ]]
      assert(nested:match"aaabbb" and nested:match"aaa" and not nested:match"bbb")
      -- the syntax description of re matches itself
      local self_desc = [=[
        pattern <- exp !.
        exp <- S (grammar / alternative)
        alternative <- seq ('/' S seq)*
        seq <- prefix*
        prefix <- '&' S prefix / '!' S prefix / suffix
        suffix <- primary S (([+*?] / '^' [+-]? num / '->' S (string / '{}' / name) / '=>' S name) S)*
        primary <- '(' exp ')' / string / class / defined / '{:' (name ':')? exp ':}'
                 / '=' name / '{}' / '{~' exp '~}' / '{|' exp '|}' / '{' exp '}' / '.'
                 / name S !arrow / '<' name '>'
        grammar <- definition+
        definition <- name S arrow exp
        class <- '[' '^'? item (!']' item)* ']'
        item <- defined / range / .
        range <- . '-' [^]]
        S <- (%s / '--' [^%nl]*)*
        name <- [A-Za-z_][A-Za-z0-9_]*
        arrow <- '<-'
        num <- [0-9]+
        string <- '"' [^"]* '"' / "'" [^']* "'"
        defined <- '%' name
      ]=]
      assert(re.match(self_desc, self_desc) == #self_desc + 1)
    "##,
    );
}

#[test]
fn find_and_gsub() {
    run(
        &state(),
        r##"
      assert(re.find("hi alalo", "{:x:..:} =x") == 4)
      assert(re.find("hi alalo", "{:x:..:} =x", 4) == 4)
      assert(not re.find("hi alalo", "{:x:..:} =x", 5))
      assert(re.find("alo alohi x x", "{:word:%w+:}%W*(=word)!%w") == 11)
      local a, b, c = re.find("alo", "{.}{'o'}")
      assert(a == 2 and b == 3 and c == nil, "find drops captures")
      assert(re.find("", "!.") == 1 and re.find("alo", "!.") == 4)
      assert(re.gsub("alo alo", "[abc]", "x") == "xlo xlo")
      assert(re.gsub("alo alo", "%w+", ".") == ". .")
      assert(re.gsub("hi, how are you", "[aeiou]", string.upper) == "hI, hOw ArE yOU")
      local s = "hi [[a comment[=]=] ending here]] and [=[another]]=]]"
      local c2 = re.compile" '[' {:i: '='* :} '[' (!(']' =i ']') .)* ']' { =i } ']' "
      assert(re.gsub(s, c2, "%2") == "hi  and =]")
      assert(re.gsub(s, c2, "%0") == s)
      -- compiled patterns are cached; updatelocale resets the caches
      assert(re.match("aa", "'a'+") == 3 and re.match("aa", "'a'+") == 3)
      re.updatelocale()
      assert(re.match("aa", "'a'+") == 3)
    "##,
    );
}

#[test]
fn errors() {
    run(
        &state(),
        r##"
      checkerr("rule 'aaaa' used outside a grammar", re.compile, "aaaa")
      checkerr("used outside a grammar", re.compile, "a")
      checkerr("rule 'a' undefined in given grammar", re.compile, "b <- a")
      checkerr("'x' already defined as a rule", re.compile, "x <- 'a'  x <- 'b'")
      checkerr("pattern error near '-'", re.compile, "'a' -")
      checkerr("pattern error near '(ab'", re.compile, "(ab")
      checkerr("name 'nope' undefined", re.compile, "%nope")
      checkerr("undefined name: f", re.compile, "'a' -> f")
      checkerr("undefined name: f", re.compile, "'a' => f", {})
      checkerr("rule 'x' may be left recursive", re.compile, "x <- x 'a'")
    "##,
    );
}
