--[[
common_log_format: web server access-log formats turned into grammars,
and a user-agent normaliser.

Two implementations build the same fields from the same format strings:
LPeg grammars (Heka's API: an LPeg pattern) and matchers made of one Lua
pattern and generated Lua code. Both are built once, when the script
loads, and used per line the same way: `local fields = g:match(line)`
returns a table of typed fields, or nil when the line does not have the
configured format. In Sandpiper's engine the matchers are the faster of
the two (see BENCHMARKS.md, "LPeg grammars against Lua patterns"), so
the shipped decoders use them unless configured otherwise; the grammars
compose with other LPeg patterns.

Functions:

- build_nginx_grammar(log_format) -> LPeg pattern
- build_nginx_matcher(log_format) -> matcher (an object with :match)
    `log_format` is the nginx directive's format string, with `$name` or
    `${name}` variables. Variables become fields of the same name:
    - `$time_local` (`10/Feb/2014:08:46:41 -0800`), `$time_iso8601` and
      `$msec` become field `time`, in nanoseconds since the epoch; a date
      that does not exist fails the line;
    - numbers (DOUBLE): `$status`, `$connection`, `$connection_requests`,
      `$pid`, `$server_port`, `$remote_port`, `$gzip_ratio`;
    - byte counts with representation "B": `$body_bytes_sent`,
      `$bytes_sent`, `$request_length`, `$content_length`;
    - seconds with representation "s": `$request_time`,
      `$upstream_connect_time`, `$upstream_header_time`,
      `$upstream_response_time` (a list such as "0.1, 0.2" stays a string);
    - every other variable is a string, kept as logged ("-" included).
    A number logged as "-" leaves its field out. A variable ends at the
    first character of the literal text that follows it (`"$request"` ends
    at the closing quote; a variable followed by a space ends at any white
    space), except a last variable followed only by one character, which
    runs to the last such character (a quoted user agent may hold quotes);
    the whole line must match, a trailing newline allowed. A string
    variable followed directly by another variable (no text between them)
    takes the shortest text that lets the rest of the line match; other
    variables followed directly by another one take a run of non-space
    characters (the matcher may split such a run differently: it
    backtracks, the grammar does not). A matcher takes at most 32
    variables (Lua's capture limit).
- build_apache_grammar(log_format) -> LPeg pattern
- build_apache_matcher(log_format) -> matcher
    `log_format` is Apache's LogFormat string. Directives map to the nginx
    names so the same filters work for both: %a %h -> remote_addr,
    %A -> server_addr, %B -> body_bytes_sent, %b -> body_bytes_sent ("-" is
    0), %D -> request_time (representation "us"), %T -> request_time,
    %f -> request_filename, %H -> server_protocol, %I -> request_length,
    %k -> connection_requests, %l -> remote_logname, %m -> request_method,
    %O -> bytes_sent, %p -> server_port, %P -> pid, %q -> query_string,
    %r -> request, %s %>s %<s -> status, %t -> time (the bracketed date),
    %u -> remote_user, %U -> uri, %v %V -> server_name,
    %X -> connection_status, %{Name}i -> http_name (lower case, "-" -> "_"),
    %{Name}o -> sent_http_name, %{Name}C -> cookie_Name, %{Name}e and
    %{Name}n -> Name, %% -> "%". Conditions (%400,501{..}i) are ignored.
    Other directives, and %{format}t, are errors.
- normalize_user_agent(user_agent) -> browser, version, os
    browser: "Firefox", "Chrome", "Safari", "MSIE", "Edge", "Opera" or nil;
    version: the browser's major version as a number or nil; os: "Windows
    10", "Windows 8.1", "Windows 8", "Windows 7", "Windows Vista",
    "Windows XP", "Windows", "iPhone", "iPad", "iPod", "Android",
    "Chrome OS", "Macintosh", "Linux", "FreeBSD" or nil.
--]]

local string = require "string"
local table = require "table"
local lpeg = require "lpeg"
local dt = require "date_time"

local find, match, sub, format, gsub, lower = string.find, string.match, string.sub,
    string.format, string.gsub, string.lower
local concat = table.concat
local tonumber, ipairs, error, type = tonumber, ipairs, error, type
local load = load

local M = {}

--- Whether matchers are generated as Lua source (fast) or interpreted.
M.codegen = load ~= nil

local NGINX_KINDS = {
    time_local = "clf", time_iso8601 = "rfc3339", msec = "msec",
    status = "number", connection = "number", connection_requests = "number",
    pid = "number", server_port = "number", remote_port = "number", gzip_ratio = "number",
    body_bytes_sent = "bytes", bytes_sent = "bytes", request_length = "bytes",
    content_length = "bytes",
    request_time = "seconds", upstream_connect_time = "seconds",
    upstream_header_time = "seconds", upstream_response_time = "seconds",
}

local TIME_CONVERTERS = {clf = dt.clf_to_ns, rfc3339 = dt.rfc3339_to_ns, msec = dt.epoch_to_ns}
local REPRESENTATIONS = {bytes = "B", clf_bytes = "B", seconds = "s", us = "us"}

local function escape(text)
    return (gsub(text, "[%^%$%(%)%%%.%[%]%*%+%-%?]", "%%%0"))
end

-- The capture for a variable of `kind` followed by literal text starting
-- with `stop` (nil: another variable or the end of the line). `last`: the
-- variable is the last one and only `stop` and the line end follow it, so
-- it may run to the last `stop` on the line (the fastest match, and it
-- keeps quotes inside a quoted last field). Dates are captured loosely and
-- checked by their converter.
local function capture(kind, stop, last)
    if last and stop then
        return "(.*)"
    elseif stop == " " then
        return "(%S*)"
    elseif stop then
        return "([^%" .. stop .. "]*)"
    elseif kind == "clf" then
        return dt.patterns.clf
    elseif kind == "rfc3339" then
        return dt.patterns.rfc3339
    elseif kind == "msec" then
        return dt.patterns.epoch
    elseif kind == "string" then
        return "(.-)"
    end
    return "(%S*)"
end

-- Converts capture `text` of variable `v` into `fields`; false when the
-- line must be rejected (a date that does not parse).
local function convert(fields, v, text)
    local kind = v.kind
    if TIME_CONVERTERS[kind] then
        local ns = TIME_CONVERTERS[kind](text)
        if not ns then return false end
        fields.time = ns
    elseif kind == "number" then
        fields[v.name] = tonumber(text)
    elseif kind == "string" then
        fields[v.name] = text
    else
        local n = tonumber(text)
        if kind == "clf_bytes" and text == "-" then n = 0 end
        if n then
            fields[v.name] = {value = n, representation = REPRESENTATIONS[kind]}
        elseif kind == "seconds" and text ~= "-" and text ~= "" then
            fields[v.name] = text
        end
    end
    return true
end

local function interpreted(pattern, vars)
    return function(_, line)
        local caps = {match(line, pattern)}
        if caps[1] == nil then return nil end
        local fields = {}
        for i, v in ipairs(vars) do
            if not convert(fields, v, caps[i]) then return nil end
        end
        return fields
    end
end

-- The same as `interpreted`, as straight-line Lua: one string.match, then
-- one table constructor.
local function generated(pattern, vars)
    local caps, pre, fields = {}, {}, {}
    for i, v in ipairs(vars) do
        local c = "c" .. i
        caps[i] = c
        local kind, key = v.kind, format("[%q]", v.name)
        if TIME_CONVERTERS[kind] then
            -- Consecutive lines share their time text: compare before converting.
            pre[#pre + 1] = format("local t%d if %s == last_text then t%d = last_ns else "
                .. "t%d = %s(%s) if not t%d then return nil end last_text, last_ns = %s, t%d end",
                i, c, i, i, kind, c, i, c, i)
            fields[#fields + 1] = format("time = t%d", i)
        elseif kind == "number" then
            fields[#fields + 1] = format("%s = tonumber(%s)", key, c)
        elseif kind == "string" then
            fields[#fields + 1] = format("%s = %s", key, c)
        else
            local n = format("n%d", i)
            if kind == "clf_bytes" then
                pre[#pre + 1] = format("local %s = %s == '-' and 0 or tonumber(%s)", n, c, c)
            else
                pre[#pre + 1] = format("local %s = tonumber(%s)", n, c)
            end
            local typed = format("%s and {value = %s, representation = %q}", n, n,
                REPRESENTATIONS[kind])
            if kind == "seconds" then
                typed = format("(%s) or (%s ~= '-' and %s ~= '' and %s or nil)", typed, c, c, c)
            end
            fields[#fields + 1] = format("%s = %s", key, typed)
        end
    end
    local src = concat({
        "local match, tonumber, pattern, clf, rfc3339, msec = ...",
        "local last_text, last_ns",
        "return function(_, line)",
        "local " .. concat(caps, ", ") .. " = match(line, pattern)",
        "if not c1 then return nil end",
        concat(pre, "\n"),
        "return {" .. concat(fields, ", ") .. "}",
        "end",
    }, "\n")
    local chunk, err = load(src, "=common_log_format", "t")
    if not chunk then error(err, 3) end
    return chunk(match, tonumber, pattern, dt.clf_to_ns, dt.rfc3339_to_ns, dt.epoch_to_ns)
end

-- segments: {lit = "text"} or {name = "field", kind = "..."}
local function compile_matcher(segments)
    local parts, vars = {"^"}, {}
    for i, seg in ipairs(segments) do
        if seg.lit then
            parts[#parts + 1] = escape(seg.lit)
        else
            local nxt = segments[i + 1]
            local stop = nxt and nxt.lit and sub(nxt.lit, 1, 1)
            local last = stop and i + 1 == #segments and #nxt.lit == 1
            parts[#parts + 1] = capture(seg.kind, stop, last)
            vars[#vars + 1] = seg
        end
    end
    if #vars == 0 then error("the log format has no variables", 3) end
    if #vars > 32 then error("the log format has more than 32 variables", 3) end
    parts[#parts + 1] = "[\r\n]*$"
    local pattern = concat(parts)
    local fn = M.codegen and generated(pattern, vars) or interpreted(pattern, vars)
    return {match = fn, pattern = pattern}
end

local function add_literal(segments, text)
    if text == "" then return end
    local last = segments[#segments]
    if last and last.lit then
        last.lit = last.lit .. text
    else
        segments[#segments + 1] = {lit = text}
    end
end

-- The segments of an nginx log_format (errors blame the caller's caller).
local function nginx_segments(log_format)
    if type(log_format) ~= "string" or log_format == "" then
        error("log_format must be a non-empty string", 3)
    end
    local segments, i = {}, 1
    while true do
        local s = find(log_format, "$", i, true)
        if not s then
            add_literal(segments, sub(log_format, i))
            break
        end
        add_literal(segments, sub(log_format, i, s - 1))
        local name, e = match(log_format, "^{([%w_]+)}()", s + 1)
        if not name then name, e = match(log_format, "^([%w_]+)()", s + 1) end
        if name then
            segments[#segments + 1] = {name = name, kind = NGINX_KINDS[name] or "string"}
            i = e
        else
            add_literal(segments, "$")
            i = s + 1
        end
    end
    return segments
end

local APACHE = {
    a = {"remote_addr", "string"}, A = {"server_addr", "string"},
    B = {"body_bytes_sent", "bytes"}, b = {"body_bytes_sent", "clf_bytes"},
    D = {"request_time", "us"}, f = {"request_filename", "string"},
    h = {"remote_addr", "string"}, H = {"server_protocol", "string"},
    I = {"request_length", "bytes"}, k = {"connection_requests", "number"},
    l = {"remote_logname", "string"}, m = {"request_method", "string"},
    O = {"bytes_sent", "bytes"}, p = {"server_port", "number"}, P = {"pid", "number"},
    q = {"query_string", "string"}, r = {"request", "string"}, s = {"status", "number"},
    T = {"request_time", "seconds"}, u = {"remote_user", "string"}, U = {"uri", "string"},
    v = {"server_name", "string"}, V = {"server_name", "string"},
    X = {"connection_status", "string"},
}

local APACHE_NAMED = {
    i = function(n) return "http_" .. gsub(lower(n), "%-", "_") end,
    o = function(n) return "sent_http_" .. gsub(lower(n), "%-", "_") end,
    C = function(n) return "cookie_" .. n end,
    e = function(n) return n end,
    n = function(n) return n end,
}

-- The segments of an Apache LogFormat (errors blame the caller's caller).
local function apache_segments(log_format)
    if type(log_format) ~= "string" or log_format == "" then
        error("log_format must be a non-empty string", 3)
    end
    local segments, i = {}, 1
    while true do
        local s = find(log_format, "%", i, true)
        if not s then
            add_literal(segments, sub(log_format, i))
            break
        end
        add_literal(segments, sub(log_format, i, s - 1))
        if sub(log_format, s + 1, s + 1) == "%" then
            add_literal(segments, "%")
            i = s + 2
        else
            local arg, letter, e = match(log_format, "^[!%d,]*[<>]?{([^}]*)}[<>]?(%a)()", s + 1)
            if not arg then
                letter, e = match(log_format, "^[!%d,]*[<>]?(%a)()", s + 1)
            end
            if not letter then
                error(format("bad directive at position %d of the log format", s), 3)
            end
            if arg and APACHE_NAMED[letter] then
                segments[#segments + 1] = {name = APACHE_NAMED[letter](arg), kind = "string"}
            elseif letter == "t" and not arg then
                add_literal(segments, "[")
                segments[#segments + 1] = {name = "time", kind = "clf"}
                add_literal(segments, "]")
            elseif APACHE[letter] and not (arg and letter == "t") then
                local d = APACHE[letter]
                segments[#segments + 1] = {name = d[1], kind = d[2]}
            else
                error(format("unsupported directive %%%s%s in the log format",
                    arg and ("{" .. arg .. "}") or "", letter), 3)
            end
            i = e
        end
    end
    return segments
end

function M.build_nginx_matcher(log_format)
    return compile_matcher(nginx_segments(log_format))
end

function M.build_apache_matcher(log_format)
    return compile_matcher(apache_segments(log_format))
end

------------------------------------------------------------------------
-- LPeg grammars: the same segments, the same fields.

local P, S, C, Cc, Cg, Ct, Cmt = lpeg.P, lpeg.S, lpeg.C, lpeg.Cc, lpeg.Cg, lpeg.Ct, lpeg.Cmt
local digit = lpeg.R"09"
-- Lua's %s, and the end of a line (a trailing newline allowed).
local SPACE = S" \t\n\v\f\r"
local NL = S"\r\n"
local EOL = NL^0 * -1
-- The shortest text before EOL (all but the line ends), as spans: line
-- end characters only when more text follows them.
local TO_EOL = ((1 - NL)^1 + NL^1 * #(1 - NL))^0

local TIME_SHAPES = {clf = dt.shapes.clf, rfc3339 = dt.shapes.rfc3339, msec = dt.shapes.epoch}

-- A typed number field from `text`, as the matcher's conversion does.
local function typed_number(kind)
    local rep = REPRESENTATIONS[kind]
    return function(text)
        local n = tonumber(text)
        if kind == "clf_bytes" and text == "-" then n = 0 end
        if n then return {value = n, representation = rep} end
        if kind == "seconds" and text ~= "-" and text ~= "" then return text end
        return nil
    end
end

-- The capture for variable `v` whose text `text` matches; `span` is set
-- when `text` is a run of `span` characters (then a plain integer is
-- converted without calling Lua).
local function lpeg_value(v, text, span)
    local kind = v.kind
    if TIME_CONVERTERS[kind] then
        return dt.converted(text, TIME_CONVERTERS[kind])
    elseif kind == "string" then
        return C(text)
    elseif kind == "number" then
        return C(text) / tonumber
    end
    local slow = C(text) / typed_number(kind)
    if not span then return slow end
    local rep = Cg(Cc(REPRESENTATIONS[kind]), "representation")
    local fast = Ct(Cg(digit^1 / tonumber, "value") * rep) * -span
    if kind == "clf_bytes" then
        fast = fast + Ct(Cg(Cc(0), "value") * rep) * "-" * -span
    end
    return fast + slow
end

-- Built from the end: `rest` is what follows a variable (without
-- captures), for a string variable that must stop where the rest of the
-- line can match.
local function compile_grammar(segments)
    local n, nvars = #segments, 0
    local rest, grammar = EOL, EOL
    for i = n, 1, -1 do
        local seg = segments[i]
        if seg.lit then
            rest, grammar = P(seg.lit) * rest, P(seg.lit) * grammar
        else
            nvars = nvars + 1
            local nxt = segments[i + 1]
            local stop = nxt and nxt.lit and sub(nxt.lit, 1, 1)
            local text, span
            if stop and i + 1 == n and #nxt.lit == 1 then
                -- to the last `stop`, after which only line ends follow
                local final = P(stop) * (NL - P(stop))^0 * -1
                text = ((1 - P(stop))^1 + (P(stop) - final))^0
            elseif stop == " " then
                span = 1 - SPACE
            elseif stop then
                span = 1 - P(stop)
            elseif TIME_SHAPES[seg.kind] then
                text = TIME_SHAPES[seg.kind]
            elseif seg.kind == "string" then
                text = i == n and TO_EOL or (1 - rest)^0
            else
                span = 1 - SPACE
            end
            text = text or span^0
            local name = TIME_CONVERTERS[seg.kind] and "time" or seg.name
            rest = text * rest
            grammar = Cg(lpeg_value(seg, text, span), name) * grammar
        end
    end
    if nvars == 0 then error("the log format has no variables", 3) end
    return Ct(grammar)
end

function M.build_nginx_grammar(log_format)
    return compile_grammar(nginx_segments(log_format))
end

function M.build_apache_grammar(log_format)
    return compile_grammar(apache_segments(log_format))
end

local WINDOWS = {
    ["10.0"] = "Windows 10", ["6.3"] = "Windows 8.1", ["6.2"] = "Windows 8",
    ["6.1"] = "Windows 7", ["6.0"] = "Windows Vista", ["5.1"] = "Windows XP",
    ["5.2"] = "Windows XP",
}

local function os_of(ua)
    local nt = match(ua, "Windows NT (%d+%.%d)")
    if nt then return WINDOWS[nt] or "Windows" end
    if find(ua, "Windows", 1, true) then return "Windows" end
    if find(ua, "iPad", 1, true) then return "iPad" end
    if find(ua, "iPhone", 1, true) then return "iPhone" end
    if find(ua, "iPod", 1, true) then return "iPod" end
    if find(ua, "Android", 1, true) then return "Android" end
    if find(ua, "CrOS", 1, true) then return "Chrome OS" end
    if find(ua, "Macintosh", 1, true) or find(ua, "Mac OS X", 1, true) then
        return "Macintosh"
    end
    if find(ua, "Linux", 1, true) or find(ua, "X11", 1, true) then return "Linux" end
    if find(ua, "FreeBSD", 1, true) then return "FreeBSD" end
    return nil
end

-- Browser tokens, first match wins (Chrome-based browsers name Chrome and
-- Safari too, so they come first).
local BROWSERS = {
    {"Firefox", "Firefox/(%d+)"},
    {"Edge", "Edge?/(%d+)"},
    {"Opera", "OPR/(%d+)"},
    {"Opera", "Opera/.*Version/(%d+)"},
    {"Chrome", "Chrome/(%d+)"},
    {"Chrome", "CriOS/(%d+)"},
    {"Safari", "Version/(%d+)[^ ]* [^ ]* ?Safari/"},
    {"MSIE", "MSIE (%d+)"},
    {"MSIE", "Trident/.*rv:(%d+)"},
}

-- Agents repeat a lot in access logs: the last results are kept (at most
-- UA_CACHE_SIZE agents; the cache starts over when full).
local UA_CACHE_SIZE = 512
local ua_cache, ua_cached = {}, 0

local function normalize(ua)
    local browser, version
    for _, b in ipairs(BROWSERS) do
        local v = match(ua, b[2])
        if v then
            browser, version = b[1], tonumber(v)
            break
        end
    end
    return browser, version, os_of(ua)
end

function M.normalize_user_agent(ua)
    if type(ua) ~= "string" or ua == "" or ua == "-" then return nil, nil, nil end
    local hit = ua_cache[ua]
    if hit then return hit[1], hit[2], hit[3] end
    local browser, version, os = normalize(ua)
    if ua_cached >= UA_CACHE_SIZE then
        ua_cache, ua_cached = {}, 0
    end
    ua_cache[ua] = {browser, version, os}
    ua_cached = ua_cached + 1
    return browser, version, os
end

return M
