--[[
ip_address: LPeg grammars for IP addresses and host names, as they appear
in logs (client addresses, upstreams, host headers).

Patterns (no captures unless noted; each matches a prefix of the subject,
so `ip.v4 * -1` checks a whole string):

- v4: a dotted-quad IPv4 address, each part 0-255 in decimal without
  leading zeros (RFC 3986 dec-octet), not followed by another digit.
- v6: an IPv6 address in any RFC 4291 text form: eight groups of 1-4 hex
  digits, "::" for one or more zero groups, and an IPv4 address in the last
  32 bits (`::ffff:192.0.2.1`). A zone (`%eth0`) is not part of it.
- hostname: an RFC 3986 reg-name (letters, digits, "-", ".", "_", "~",
  percent-escapes and the sub-delims `!$&'()*+,;=`), at least one
  character.
- host: v6, v4 or hostname (an address followed by more name characters,
  as in `10.0.0.1.example.com`, is a hostname).

Captures (Heka's message field tables):

- v4_field, v6_field: `{value = "192.0.2.1", representation = "ipv4"}`
  (representation "ipv6" for v6).
- host_field: the same for `host`, with representation "ipv4", "ipv6" or
  "hostname".
--]]

local lpeg = require "lpeg"

local P, R, S, C, Cc, Cg, Ct, V = lpeg.P, lpeg.R, lpeg.S, lpeg.C, lpeg.Cc, lpeg.Cg, lpeg.Ct,
    lpeg.V

local M = {}

local digit = R"09"
local hex = R("09", "af", "AF")

-- 250-255, 200-249, 100-199, 10-99, 0-9: longest first, as PEG choice
-- takes the first alternative that matches.
local octet = P"25" * R"05" + P"2" * R"04" * digit + P"1" * digit * digit
    + R"19" * digit + digit
M.v4 = octet * "." * octet * "." * octet * "." * octet * -digit

-- IPv6: `left` groups before "::" and at most 7 - left after it, or eight
-- groups without "::". Each count is its own rule, so the grammar stays
-- small; the longest tail is tried first.
local function v6_grammar()
    local rules = {"address"}
    rules.h16 = hex * hex^-3
    -- the last 32 bits: two groups or an IPv4 address
    rules.ls32 = M.v4 + V"h16" * ":" * V"h16"
    -- exactly n groups separated by ":" (n >= 1)
    for n = 1, 8 do
        local p = V"h16"
        for _ = 2, n do p = p * ":" * V"h16" end
        rules["groups" .. n] = p
    end
    -- a tail of at most n groups (an IPv4 address counts as two), or none
    for n = 0, 7 do
        local alts = P(true)
        for k = 1, n do
            local plain = V("groups" .. k)
            local with_v4 = k == 2 and M.v4 or k > 2 and (V("groups" .. (k - 2)) * ":" * M.v4)
            local alt = with_v4 and (with_v4 + plain) or plain
            alts = alt + alts
        end
        rules["tail" .. n] = alts
    end
    local compressed = P"::" * V"tail7"
    for left = 1, 7 do
        compressed = compressed + V("groups" .. left) * "::" * V("tail" .. (7 - left))
    end
    local full = V"groups6" * ":" * V"ls32"
    rules.address = (full + compressed) * -(hex + S":.")
    return P(rules)
end
M.v6 = v6_grammar()

local unreserved = R("az", "AZ", "09") + S"-._~"
local pct_encoded = "%" * hex * hex
local sub_delims = S"!$&'()*+,;="
local name_char = unreserved + pct_encoded + sub_delims
M.hostname = name_char^1

M.host = M.v6 + M.v4 * -name_char + M.hostname

local function field(pattern, representation)
    return Ct(Cg(C(pattern), "value") * Cg(Cc(representation), "representation"))
end

M.v4_field = field(M.v4, "ipv4")
M.v6_field = field(M.v6, "ipv6")
M.host_field = field(M.v6, "ipv6") + field(M.v4 * -name_char, "ipv4")
    + field(M.hostname, "hostname")

return M
