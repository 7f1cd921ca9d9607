-- An nginx "combined" log grammar for the lpeg benchmarks:
-- $remote_addr - $remote_user [$time_local] "$request" $status
-- $body_bytes_sent "$http_referer" "$http_user_agent"
-- Returns a function that builds the grammar from an lpeg module table.
return function(lpeg)
  local P, R, S, C, Cg, Ct, V = lpeg.P, lpeg.R, lpeg.S, lpeg.C, lpeg.Cg, lpeg.Ct, lpeg.V
  local digit = R"09"
  local sp = P" "

  local ip = P{ "ip",
    ip = V"v4" + V"v6",
    octet = P"25" * R"05" + P"2" * R"04" * digit + P"1" * digit * digit
            + R"19" * digit + digit,
    v4 = V"octet" * "." * V"octet" * "." * V"octet" * "." * V"octet" * #(sp + -1),
    h16 = R("09", "af", "AF")^-4,
    v6 = (V"h16" * ":")^1 * V"h16",
  }

  local months = { Jan = 1, Feb = 2, Mar = 3, Apr = 4, May = 5, Jun = 6,
                   Jul = 7, Aug = 8, Sep = 9, Oct = 10, Nov = 11, Dec = 12 }
  local d2 = digit * digit / tonumber
  local time = Ct(
    Cg(d2, "day") * "/" * Cg(C(R"AZ" * R"az" * R"az") / months, "month") * "/" *
    Cg(digit^4 / tonumber, "year") * ":" * Cg(d2, "hour") * ":" *
    Cg(d2, "min") * ":" * Cg(d2, "sec") * sp *
    Cg(C(S"+-" * digit^4), "offset"))

  local quoted = '"' * C(((1 - S'"\\') + P"\\" * 1)^0) * '"'
  local token = C((1 - sp)^1)

  return Ct(
    Cg(C(ip), "remote_addr") * " - " * Cg(token, "remote_user") * " [" *
    Cg(time, "time") * '] "' *
    Cg(C(R"AZ"^1), "request_method") * sp * Cg(token, "request_uri") * sp *
    Cg(C("HTTP/" * digit * "." * digit), "server_protocol") * '" ' *
    Cg(digit^1 / tonumber, "status") * sp *
    Cg(digit^1 / tonumber, "body_bytes_sent") * sp *
    Cg(quoted, "http_referer") * sp * Cg(quoted, "http_user_agent") * -1)
end
