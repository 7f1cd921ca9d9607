-- The shipped nginx "combined" grammar (lua_modules/common_log_format.lua)
-- on a stock Lua 5.4 with any `lpeg` module, over a log file: here
-- Debian's C LPeg 1.0.2 (packages lua5.4 and lua-lpeg), the engine
-- Hindsight's decoders use. Parsing only, timed with os.clock (CPU time),
-- for comparison with Sandpiper's figures in benches/grammar_bench.sh.
--   lua5.4 benches/grammar_c_lpeg.lua ACCESS_LOG [lpeg|pattern]
local dir = arg[0]:match("^(.*)/[^/]*$") or "."
package.path = dir .. "/../lua_modules/?.lua;" .. package.path
local clf = require "common_log_format"
local lpeg = require "lpeg"

local file = assert(arg[1], "usage: lua5.4 grammar_c_lpeg.lua ACCESS_LOG [lpeg|pattern]")
local kind = arg[2] or "lpeg"
local COMBINED = '$remote_addr - $remote_user [$time_local] "$request" $status '
    .. '$body_bytes_sent "$http_referer" "$http_user_agent"'
local grammar = kind == "pattern" and clf.build_nginx_matcher(COMBINED)
    or clf.build_nginx_grammar(COMBINED)

-- Read first, so the timing is parsing only.
local lines = {}
for line in io.lines(file, "L") do lines[#lines + 1] = line end

local start, matched = os.clock(), 0
for i = 1, #lines do
    if grammar:match(lines[i]) then matched = matched + 1 end
end
local cpu = os.clock() - start
local version = type(lpeg.version) == "function" and lpeg.version() or lpeg.version
print(string.format("stock Lua %s, LPeg %s, %s: %d lines (%d matched) in %.2f CPU s: "
    .. "%.0f lines per CPU-second", _VERSION, version, kind, #lines, matched, cpu, #lines / cpu))
