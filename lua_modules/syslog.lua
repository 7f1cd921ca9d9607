--[[
syslog: rsyslog templates turned into line matchers, and parsers for RFC
3164 and RFC 5424 lines. Timestamps are nanoseconds since the epoch (see
date_time); an RFC 3164 date has no year or zone: the current year is
assumed and the time is UTC (a decoder's `tz` setting re-interprets it).

Functions:

- build_rsyslog_grammar(template[, wall_clock]) -> LPeg pattern
- build_rsyslog_matcher(template[, wall_clock]) -> matcher (an object with
  :match, made of one Lua pattern; the same fields). For rsyslog's
  templates the grammar is the slightly faster of the two in Sandpiper
  (see BENCHMARKS.md), so the rsyslog decoder uses it by default.
    `template` is an rsyslog template string, or the name of one of
    rsyslog's built-in templates: RSYSLOG_TraditionalFileFormat,
    RSYSLOG_FileFormat, RSYSLOG_TraditionalForwardFormat,
    RSYSLOG_ForwardFormat, RSYSLOG_SyslogProtocol23Format.
    `g:match(line)` returns a table keyed by lower-case property name,
    or nil when the line does not have the template's shape:
    - timestamp / timereported / timegenerated: ns, from the RFC 3164 date
      (`Feb 10 12:58:58`) or, with the `date-rfc3339` option, RFC 3339
      (timereported is returned as timestamp);
    - pri, syslogfacility, syslogseverity, protocol-version: numbers;
    - hostname (also for source), syslogtag, programname, procid, app-name,
      msgid, structured-data, syslogfacility-text, syslogseverity-text,
      pri-text and any other property: strings, as logged;
    - msg: the message; `%msg:::sp-if-no-1st-sp%` matches the optional
      separating space and `drop-last-lf` drops a final newline.
    A template's trailing newline (`\n`) is optional in the line. With
    `wall_clock`, RFC 3339 offsets are not applied (see date_time): for a
    decoder whose `tz` setting re-interprets the times. A property that
    is not followed by literal text (the message, usually) takes the
    shortest text that lets the rest of the line match.
- parse_syslogtag("widget[4322]:") -> "widget", 4322 (or the tag, nil)
- parse_rfc3164(line) -> {pri, timestamp, hostname, programname, pid, msg}
    for `<34>Oct 11 22:14:15 mymachine su[230]: 'su root' failed`.
- parse_rfc5424(line) -> {pri, version, timestamp, hostname, app_name,
    procid, msgid, structured_data, msg}; "-" values are left out.
- severity_number["warning"] -> 4, facility_number["local0"] -> 16.

LPeg grammars (whole lines, a trailing newline allowed):

- rfc3164: the table parse_rfc3164 returns, for the same lines.
- rfc5424: the table parse_rfc5424 returns, for the same lines.
--]]

local string = require "string"
local table = require "table"
local lpeg = require "lpeg"
local dt = require "date_time"

local find, match, sub, lower, gsub, format = string.find, string.match, string.sub,
    string.lower, string.gsub, string.format
local concat = table.concat
local tonumber, ipairs, error, type = tonumber, ipairs, error, type

local M = {}

M.severity_number = {
    emerg = 0, panic = 0, alert = 1, crit = 2, err = 3, error = 3, warning = 4, warn = 4,
    notice = 5, info = 6, debug = 7,
}

M.facility_number = {
    kern = 0, user = 1, mail = 2, daemon = 3, auth = 4, security = 4, syslog = 5, lpr = 6,
    news = 7, uucp = 8, cron = 9, authpriv = 10, ftp = 11, ntp = 12, audit = 13, alert = 14,
    clock = 15, local0 = 16, local1 = 17, local2 = 18, local3 = 19, local4 = 20,
    local5 = 21, local6 = 22, local7 = 23,
}

local BUILTIN = {
    RSYSLOG_TraditionalFileFormat =
        "%TIMESTAMP% %HOSTNAME% %syslogtag%%msg:::sp-if-no-1st-sp%%msg:::drop-last-lf%\n",
    RSYSLOG_FileFormat = "%TIMESTAMP:::date-rfc3339% %HOSTNAME% %syslogtag%"
        .. "%msg:::sp-if-no-1st-sp%%msg:::drop-last-lf%\n",
    RSYSLOG_TraditionalForwardFormat =
        "<%PRI%>%TIMESTAMP% %HOSTNAME% %syslogtag:1:32%%msg:::sp-if-no-1st-sp%%msg%",
    RSYSLOG_ForwardFormat = "<%PRI%>%TIMESTAMP:::date-rfc3339% %HOSTNAME% %syslogtag:1:32%"
        .. "%msg:::sp-if-no-1st-sp%%msg%",
    RSYSLOG_SyslogProtocol23Format = "<%PRI%>1 %TIMESTAMP:::date-rfc3339% %HOSTNAME% "
        .. "%APP-NAME% %PROCID% %MSGID% %STRUCTURED-DATA% %msg%\n",
}

local NUMBERS = {
    pri = true, syslogfacility = true, syslogseverity = true, ["protocol-version"] = true,
}
local TIMES = {timestamp = true, timereported = true, timegenerated = true}
local RENAME = {timereported = "timestamp", source = "hostname"}

local RFC3164_DATE, RFC3339_DATE = dt.patterns.rfc3164, dt.patterns.rfc3339

local function escape(text)
    return (gsub(text, "[%^%$%(%)%%%.%[%]%*%+%-%?]", "%%%0"))
end

-- Splits a template into literal text and {name, options} properties.
local function parse_template(template)
    local segments, i = {}, 1
    while true do
        local s = find(template, "%", i, true)
        if not s then
            segments[#segments + 1] = {lit = sub(template, i)}
            break
        end
        segments[#segments + 1] = {lit = sub(template, i, s - 1)}
        local e = find(template, "%", s + 1, true)
        if not e then error("unterminated property in the rsyslog template", 4) end
        local body = sub(template, s + 1, e - 1)
        local name, options = match(body, "^([^:]+):?[^:]*:?[^:]*:?(.*)$")
        if not name or name == "" then
            error(format("bad property %%%s%% in the rsyslog template", body), 4)
        end
        segments[#segments + 1] = {prop = lower(name), options = lower(options)}
        i = e + 1
    end
    return segments
end

-- The segments of a template or built-in template name (errors blame the
-- caller's caller).
local function template_segments(template)
    if type(template) ~= "string" or template == "" then
        error("template must be a non-empty string", 3)
    end
    template = BUILTIN[template] or template
    template = gsub(template, "\\n", "\n")
    return parse_template(template)
end

function M.build_rsyslog_matcher(template, wall_clock)
    local segments = template_segments(template)
    local parts, props = {"^"}, {}
    for i, seg in ipairs(segments) do
        if seg.lit then
            local lit = seg.lit
            if i == #segments then lit = gsub(lit, "[\r\n]+$", "") end
            parts[#parts + 1] = escape(lit)
        elseif find(seg.options, "sp-if-no-1st-sp", 1, true) then
            parts[#parts + 1] = " ?"
        else
            local name = RENAME[seg.prop] or seg.prop
            local nxt = segments[i + 1]
            local stop = nxt and nxt.lit and sub(nxt.lit, 1, 1)
            if stop == "" then stop = nil end
            local cap
            if TIMES[seg.prop] then
                local rfc3339 = find(seg.options, "date-rfc3339", 1, true)
                cap = rfc3339 and RFC3339_DATE or RFC3164_DATE
                props[#props + 1] = {name = name, time = rfc3339 and "rfc3339" or "rfc3164"}
            else
                if seg.prop == "msg" or not stop then
                    cap = "(.-)"
                elseif stop == " " then
                    cap = "(%S*)"
                else
                    cap = "([^%" .. stop .. "]*)"
                end
                if seg.prop == "syslogtag" and stop == nil then cap = "(%S*)" end
                props[#props + 1] = {name = name, number = NUMBERS[seg.prop]}
            end
            parts[#parts + 1] = cap
        end
    end
    if #props == 0 then error("the rsyslog template has no properties", 2) end
    if #props > 32 then error("the rsyslog template has more than 32 properties", 2) end
    parts[#parts + 1] = "[\r\n]*$"
    local pattern = concat(parts)
    local function grammar_match(_, line)
        local caps = {match(line, pattern)}
        if caps[1] == nil then return nil end
        local t = {}
        for i, p in ipairs(props) do
            local v = caps[i]
            if p.time == "rfc3164" then
                v = dt.rfc3164_to_ns(v)
                if not v then return nil end
            elseif p.time then
                v = dt.rfc3339_to_ns(v, wall_clock)
                if not v then return nil end
            elseif p.number then
                v = tonumber(v)
                if not v then return nil end
            end
            t[p.name] = v
        end
        return t
    end
    return {match = grammar_match, pattern = pattern}
end

------------------------------------------------------------------------
-- LPeg grammars

local P, R, S, C, Cg, Ct, Cmt = lpeg.P, lpeg.R, lpeg.S, lpeg.C, lpeg.Cg, lpeg.Ct, lpeg.Cmt
local digit = R"09"
-- Lua's %s, and the end of a line (a trailing newline allowed).
local SPACE = S" \t\n\v\f\r"
local NONSPACE = 1 - SPACE
local NL = S"\r\n"
local EOL = NL^0 * -1
-- The shortest text before EOL (all but the line ends), as spans: line
-- end characters only when more text follows them.
local TO_EOL = ((1 - NL)^1 + NL^1 * #(1 - NL))^0

local function number_or_fail(_, _, text)
    local n = tonumber(text)
    if n then return true, n end
    return false
end

-- A number property: a plain integer without calling Lua when `span` is
-- the character class of its text.
local function lpeg_number(text, span)
    local slow = Cmt(C(text), number_or_fail)
    if not span then return slow end
    return (digit^1 / tonumber) * -span + slow
end

-- Built from the end, as common_log_format's grammars: `rest` is what
-- follows a property, for a property that must stop where the rest of
-- the line can match.
function M.build_rsyslog_grammar(template, wall_clock)
    local segments = template_segments(template)
    local n, nprops = #segments, 0
    local rest, grammar = EOL, EOL
    local rfc3339 = wall_clock and dt.rfc3339_wall_clock or dt.rfc3339
    local rfc3164 = dt.converted(dt.shapes.rfc3164, function(text)
        return dt.rfc3164_to_ns(text)
    end)
    for i = n, 1, -1 do
        local seg = segments[i]
        if seg.lit then
            local lit = seg.lit
            if i == n then lit = gsub(lit, "[\r\n]+$", "") end
            if lit ~= "" then rest, grammar = P(lit) * rest, P(lit) * grammar end
        elseif find(seg.options, "sp-if-no-1st-sp", 1, true) then
            rest, grammar = P" "^-1 * rest, P" "^-1 * grammar
        else
            nprops = nprops + 1
            local name = RENAME[seg.prop] or seg.prop
            local nxt = segments[i + 1]
            local stop = nxt and nxt.lit and sub(nxt.lit, 1, 1)
            if stop == "" then stop = nil end
            local text, value, span
            if TIMES[seg.prop] then
                local iso = find(seg.options, "date-rfc3339", 1, true)
                text = iso and dt.shapes.rfc3339 or dt.shapes.rfc3164
                value = iso and rfc3339 or rfc3164
            else
                if seg.prop == "syslogtag" and not stop then
                    span = NONSPACE
                elseif seg.prop == "msg" or not stop then
                    text = rest == EOL and TO_EOL or (1 - rest)^0
                elseif stop == " " then
                    span = NONSPACE
                else
                    span = 1 - P(stop)
                end
                text = text or span^0
                value = NUMBERS[seg.prop] and lpeg_number(text, span) or C(text)
            end
            rest = text * rest
            grammar = Cg(value, name) * grammar
        end
    end
    if nprops == 0 then error("the rsyslog template has no properties", 2) end
    return Ct(grammar)
end

local pri = Cg(digit * digit^-2 / tonumber, "pri")
local tag_name = (1 - (SPACE + S":["))^1

M.rfc3164 = Ct("<" * pri * ">" * Cg(dt.rfc3164_timestamp, "timestamp") * " "
    * Cg(C(NONSPACE^1), "hostname") * " "
    * ((Cg(C(tag_name), "programname") * "[" * Cg(digit^1 / tonumber, "pid") * "]"
        + Cg(C(tag_name * P"["^-1 * digit^0 * P"]"^-1), "programname"))
        * ":" * SPACE^-1 * Cg(C(TO_EOL), "msg")
        + Cg(C(TO_EOL), "msg"))
    * EOL)

-- A header field of RFC 5424: "-" leaves it out.
local function nil_or(value, name)
    return P"-" * #P" " + Cg(value, name)
end

local quoted = '"' * (P"\\" * 1 + (1 - S'"\\'))^0 * '"'
local sd_element = "[" * (P"\\" * 1 + quoted + (1 - S'\\"]'))^0 * "]"

M.rfc5424 = Ct("<" * pri * ">" * Cg(digit * digit^-1 / tonumber, "version") * " "
    * nil_or(dt.converted(NONSPACE^1, dt.rfc3339_to_ns), "timestamp") * " "
    * nil_or(C(NONSPACE^1), "hostname") * " "
    * nil_or(C(NONSPACE^1), "app_name") * " "
    * nil_or(C(NONSPACE^1), "procid") * " "
    * nil_or(C(NONSPACE^1), "msgid") * " "
    * (P"-" + Cg(C(sd_element^1), "structured_data"))
    * (EOL + " " * P"\239\187\191"^-1 * Cg(C(TO_EOL), "msg") * EOL))

function M.parse_syslogtag(tag)
    local name, pid = match(tag, "^([^%[]+)%[(%d+)%]:?$")
    if name then return name, tonumber(pid) end
    return (gsub(tag, ":$", "")), nil
end

function M.parse_rfc3164(line)
    local pri, date, host, rest = match(line, "^<(%d%d?%d?)>" .. RFC3164_DATE .. " (%S+) (.-)[\r\n]*$")
    if not pri then return nil end
    local ts = dt.rfc3164_to_ns((gsub(date, "  +", " ")))
    if not ts then return nil end
    local t = {pri = tonumber(pri), timestamp = ts, hostname = host}
    local tag, msg = match(rest, "^([^%s:%[]+%[?%d*%]?):%s?(.*)$")
    if tag then
        t.programname, t.pid = M.parse_syslogtag(tag)
        t.msg = msg
    else
        t.msg = rest
    end
    return t
end

-- Structured data: "-" or one or more [id param="value" ...] elements,
-- where values may hold escaped \] and \".
local function split_structured_data(s)
    if sub(s, 1, 1) == "-" then return nil, sub(s, 2) end
    local i = 1
    while sub(s, i, i) == "[" do
        local j = i + 1
        while true do
            local c = sub(s, j, j)
            if c == "" then return false end
            if c == "\\" then
                j = j + 2
            elseif c == '"' then
                j = j + 1
                while true do
                    local d = sub(s, j, j)
                    if d == "" then return false end
                    if d == "\\" then j = j + 2
                    elseif d == '"' then break
                    else j = j + 1 end
                end
                j = j + 1
            elseif c == "]" then
                break
            else
                j = j + 1
            end
        end
        i = j + 1
    end
    if i == 1 then return false end
    return sub(s, 1, i - 1), sub(s, i)
end

function M.parse_rfc5424(line)
    local pri, version, ts, host, app, procid, msgid, rest =
        match(line, "^<(%d%d?%d?)>(%d%d?) (%S+) (%S+) (%S+) (%S+) (%S+) (.-)[\r\n]*$")
    if not pri then return nil end
    local t = {pri = tonumber(pri), version = tonumber(version)}
    if ts ~= "-" then
        t.timestamp = dt.rfc3339_to_ns(ts)
        if not t.timestamp then return nil end
    end
    local function opt(v) if v ~= "-" then return v end end
    t.hostname, t.app_name, t.procid, t.msgid = opt(host), opt(app), opt(procid), opt(msgid)
    local sd, after = split_structured_data(rest)
    if sd == false then return nil end
    t.structured_data = sd
    if after ~= "" then
        if sub(after, 1, 1) ~= " " then return nil end
        local msg = sub(after, 2)
        if sub(msg, 1, 3) == "\239\187\191" then msg = sub(msg, 4) end
        t.msg = msg
    end
    return t
end

return M
