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
print(string.format("lpeg %s: %.0f lines/s", lpeg.version and
  (type(lpeg.version) == "function" and lpeg.version() or lpeg.version) or "?", best))
