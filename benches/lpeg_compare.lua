-- Runs the nginx grammar benchmark on any Lua 5.4 with an `lpeg` module,
-- to compare the C LPeg with Sandpiper's (whose figures come from
-- `cargo bench --bench lpeg`, group lpeg/match_lines_in_lua_loop):
--   lua5.4 benches/lpeg_compare.lua [seconds]
local dir = arg[0]:match("^(.*)/[^/]*$") or "."
local lpeg = require "lpeg"
local grammar = dofile(dir .. "/nginx_grammar.lua")(lpeg)
local lines = dofile(dir .. "/nginx_lines.lua")(1000)
local seconds = tonumber(arg[1]) or 5

for _, l in ipairs(lines) do
  local t = grammar:match(l)
  assert(t and t.status and t.time.year == 2024, l)
end

local best = 0
for _ = 1, 3 do
  local n, start = 0, os.clock()
  repeat
    for i = 1, #lines do
      if grammar:match(lines[i]) then n = n + 1 end
    end
  until os.clock() - start >= seconds / 3
  best = math.max(best, n / (os.clock() - start))
end
local build = dofile(dir .. "/nginx_grammar.lua")
local start, rounds = os.clock(), 0
repeat
  build(lpeg):match(lines[1])
  rounds = rounds + 1
until os.clock() - start >= 1
local compile_us = (os.clock() - start) / rounds * 1e6

local version = type(lpeg.version) == "function" and lpeg.version() or lpeg.version
print(string.format("lpeg %s: %.0f lines/s; building and compiling the grammar: %.0f us",
  version, best, compile_us))
