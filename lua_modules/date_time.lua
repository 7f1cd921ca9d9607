--[[
date_time: timestamps in nanoseconds since the UNIX epoch from the date
formats logs use, computed arithmetically (no os.time, no time zone
database: offsets come from the text, and a decoder's `tz` setting is
applied by the engine).

Functions (all return nil for text that does not parse or is out of range):

- days_from_civil(year, month, day) -> days since 1970-01-01 (proleptic
  Gregorian calendar, any year).
- time_to_ns(year, month, day, hour, min, sec, frac_ns, offset_sec) -> ns
  for a wall-clock time `offset_sec` east of UTC (the last two optional).
  time_to_ns(t) also takes a Heka-style time table: year, month, day,
  hour, min, sec (numbers or digit strings), optional sec_frac (seconds,
  e.g. 0.25), offset_sign ("+"/"-"), offset_hour and offset_min, or time_t
  (seconds since the epoch).
- clf_to_ns("10/Feb/2014:08:46:41 -0800") -> 1392050801000000000
  (Common Log Format, nginx $time_local, Apache %t without the brackets).
  The last text and the last date are cached, so a log with many lines per
  second costs one string comparison per line.
- rfc3339_to_ns("2014-02-10T16:46:41.25Z"[, wall_clock]) -> ns; the offset
  may be Z or +hh:mm (also +hhmm), the separator T, t or a space, fractions
  to 9 digits. With `wall_clock` the offset is checked but not applied (the
  wall-clock time is returned as if it were UTC, for a decoder whose `tz`
  setting re-interprets it).
- rfc3164_to_ns("Feb 10 08:46:41"[, year]) -> ns (syslog; without a year
  the current UTC year is used, or the previous one for a month more than
  one month ahead, so December lines read in January land in December;
  the last text converted so is cached).
- epoch_to_ns("1392050801.123") -> ns (nginx $msec, seconds with fraction).
- offset_seconds("-0800" | "+01:00" | "Z") -> seconds east of UTC.
- build_strftime_matcher(format) -> matcher; matcher:match(text) -> ns
    (Lua patterns; the whole text must match) for a strftime-style format
    with %Y %y %m %d %e %H %M %S %b %h %B %p %I, %f (fraction digits), %z
    (+hhmm, +hh:mm or Z), %Z (UTC/GMT/Z only), %s (epoch seconds), %T
    (%H:%M:%S), %F (%Y-%m-%d), %D (%m/%d/%y), %R (%H:%M), %% and literal
    text. Missing parts default to 1970-01-01 00:00:00 UTC.
- month_number["Feb"] -> 2 (English abbreviations, any case of the first
  letter as logs write them: "Feb", "FEB", "feb").
- patterns.clf, patterns.rfc3339, patterns.rfc3164, patterns.epoch: Lua
  patterns (no anchors) capturing a date of that shape loosely, for line
  matchers; the converters above check the values.

LPeg grammars (patterns whose one capture is the time in ns; a date that
does not exist, such as 31/Feb, makes the match fail). They match a
prefix of the subject, so they compose into larger grammars:

- clf_timestamp: `10/Feb/2014:08:46:41 -0800` (as clf_to_ns).
- rfc3339: `2014-02-10T16:46:41.25Z`, `... +01:00`, `... +0100`, or no
  offset (UTC), as rfc3339_to_ns; rfc3339_wall_clock: the same with the
  offset checked but not applied.
- rfc3164_timestamp: `Feb 10 08:46:41` or `Feb  1 08:46:41` (as
  rfc3164_to_ns without a year).
- epoch_timestamp: `1392050801.123` (as epoch_to_ns).
- build_strftime_grammar(format) -> grammar: the directives of
  build_strftime_matcher, as an LPeg pattern capturing ns. Unlike the
  matcher it does not require the end of the subject: use
  `grammar * -1` for that.
--]]

local string = require "string"
local table = require "table"
local os = require "os"
local lpeg = require "lpeg"

local math = require "math"

local tonumber, type, setmetatable, ipairs, error = tonumber, type, setmetatable, ipairs,
    error
local match, lower, sub = string.match, string.lower, string.sub
local os_date = os.date

local M = {}

local months = {
    jan = 1, feb = 2, mar = 3, apr = 4, may = 5, jun = 6,
    jul = 7, aug = 8, sep = 9, oct = 10, nov = 11, dec = 12,
}
M.month_number = setmetatable({}, {
    __index = function(_, k)
        if type(k) ~= "string" then return nil end
        return months[lower(k)]
    end,
})

local days_in_month = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31}

local function is_leap(y)
    return y % 4 == 0 and (y % 100 ~= 0 or y % 400 == 0)
end

-- Days from 1970-01-01 to year-month-day: the year is shifted to start in
-- March so the leap day falls at its end, then whole 400-year eras (146097
-- days), years (365 days plus leap days) and month lengths (153 days per 5
-- months from March) are counted.
function M.days_from_civil(y, m, d)
    if m <= 2 then y = y - 1 end
    local era = (y >= 0 and y or y - 399) // 400
    local yoe = y - era * 400
    local mp = (m + 9) % 12
    local doy = (153 * mp + 2) // 5 + d - 1
    local doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468
end
local days_from_civil = M.days_from_civil

local function valid_date(y, m, d)
    if not (y and m and d) or m < 1 or m > 12 or d < 1 then return false end
    if d > days_in_month[m] then return false end
    return d < 29 or m ~= 2 or is_leap(y)
end

local function valid_time(h, mi, s)
    return h and mi and s and h < 24 and mi < 60 and s <= 60
end

-- A Heka-style time table as time_to_ns arguments.
local function from_table(t)
    if t.time_t then return nil, tonumber(t.time_t) end
    local frac = tonumber(t.sec_frac)
    local off = 0
    if t.offset_hour then
        off = (tonumber(t.offset_hour) or 0) * 3600 + (tonumber(t.offset_min) or 0) * 60
        if t.offset_sign == "-" then off = -off end
    end
    return {tonumber(t.year), tonumber(t.month), tonumber(t.day), tonumber(t.hour) or 0,
        tonumber(t.min) or 0, tonumber(t.sec) or 0, frac and math.floor(frac * 1e9 + 0.5) or 0,
        off}
end

function M.time_to_ns(y, m, d, h, mi, s, frac, offset)
    if type(y) == "table" then
        local args, time_t = from_table(y)
        if time_t then return math.floor(time_t * 1e9) end
        y, m, d, h, mi, s, frac, offset = table.unpack(args, 1, 8)
    end
    if not valid_date(y, m, d) or not valid_time(h, mi, s) then return nil end
    local secs = days_from_civil(y, m, d) * 86400 + h * 3600 + mi * 60 + s - (offset or 0)
    return secs * 1000000000 + (frac or 0)
end
local time_to_ns = M.time_to_ns

function M.offset_seconds(text)
    if text == "Z" or text == "z" then return 0 end
    local sign, hh, mm = match(text, "^([+-])(%d%d):?(%d%d)$")
    if not sign then return nil end
    hh, mm = tonumber(hh), tonumber(mm)
    if hh > 23 or mm > 59 then return nil end
    local off = hh * 3600 + mm * 60
    return sign == "-" and -off or off
end
local offset_seconds = M.offset_seconds

-- "123" -> 123000000: fraction digits as nanoseconds.
local function frac_ns(digits)
    if not digits or digits == "" then return 0 end
    digits = sub(digits .. "000000000", 1, 9)
    return tonumber(digits)
end

local clf_last_text, clf_last_ns
local clf_last_date, clf_last_days
local clf_last_zone, clf_last_off

function M.clf_to_ns(text)
    if text == clf_last_text then return clf_last_ns end
    local date, h, mi, s, zone =
        match(text, "^(%d%d?/%a%a%a/%d%d%d%d):(%d%d):(%d%d):(%d%d) ([+-]%d%d%d%d)$")
    if not date then return nil end
    local days
    if date == clf_last_date then
        days = clf_last_days
    else
        local d, mon, y = match(date, "^(%d+)/(%a+)/(%d+)$")
        d, y = tonumber(d), tonumber(y)
        local m = M.month_number[mon]
        if not valid_date(y, m, d) then return nil end
        days = days_from_civil(y, m, d)
        clf_last_date, clf_last_days = date, days
    end
    local off
    if zone == clf_last_zone then
        off = clf_last_off
    else
        off = offset_seconds(zone)
        if not off then return nil end
        clf_last_zone, clf_last_off = zone, off
    end
    h, mi, s = tonumber(h), tonumber(mi), tonumber(s)
    if not valid_time(h, mi, s) then return nil end
    local ns = (days * 86400 + h * 3600 + mi * 60 + s - off) * 1000000000
    clf_last_text, clf_last_ns = text, ns
    return ns
end

function M.rfc3339_to_ns(text, wall_clock)
    local y, m, d, h, mi, s, frac, zone = match(text,
        "^(%d%d%d%d)%-(%d%d)%-(%d%d)[Tt ](%d%d):(%d%d):(%d%d)%.?(%d*)([Zz+-]?[%d:]*)$")
    if not y then return nil end
    local off = 0
    if zone ~= "" then
        off = offset_seconds(zone)
        if not off then return nil end
        if wall_clock then off = 0 end
    end
    return time_to_ns(tonumber(y), tonumber(m), tonumber(d), tonumber(h), tonumber(mi),
        tonumber(s), frac_ns(frac), off)
end

-- The last text converted without a year, and its result.
local rfc3164_last_text, rfc3164_last_ns

function M.rfc3164_to_ns(text, year)
    if not year and text == rfc3164_last_text then return rfc3164_last_ns end
    local mon, d, h, mi, s = match(text, "^(%a%a%a) +(%d%d?) (%d%d):(%d%d):(%d%d)$")
    if not mon then return nil end
    local m = M.month_number[mon]
    if not m then return nil end
    local now_year = not year
    if now_year then
        local now = os_date("!*t")
        year = now.year
        if m > now.month + 1 then year = year - 1 end
    end
    local ns = time_to_ns(year, m, tonumber(d), tonumber(h), tonumber(mi), tonumber(s))
    if now_year and ns then rfc3164_last_text, rfc3164_last_ns = text, ns end
    return ns
end

function M.epoch_to_ns(text)
    local secs, frac = match(text, "^(%d+)%.?(%d*)$")
    if not secs then return nil end
    return tonumber(secs) * 1000000000 + frac_ns(frac)
end

local FULL_MONTHS = {
    january = 1, february = 2, march = 3, april = 4, may = 5, june = 6, july = 7,
    august = 8, september = 9, october = 10, november = 11, december = 12,
}

-- Each directive: a capture and the key its text sets.
local STRFTIME = {
    Y = {"([+-]?%d%d%d%d)", "year"}, y = {"(%d%d)", "year2"}, m = {"(%d%d?)", "month"},
    d = {"(%d%d?)", "day"}, e = {" ?(%d%d?)", "day"}, H = {"(%d%d?)", "hour"},
    I = {"(%d%d?)", "hour12"}, M = {"(%d%d)", "min"}, S = {"(%d%d)", "sec"},
    b = {"(%a%a%a)", "mon"}, h = {"(%a%a%a)", "mon"}, B = {"(%a+)", "monthname"},
    p = {"([AaPp][Mm])", "ampm"}, f = {"(%d+)", "frac"}, s = {"(%d+)", "epoch"},
    z = {"([Zz+-][%d:]*)", "zone"}, Z = {"(%a+)", "zonename"},
}
local STRFTIME_ALIAS = {T = "%H:%M:%S", F = "%Y-%m-%d", D = "%m/%d/%y", R = "%H:%M"}

local function strftime_ns(c)
    if c.epoch then return tonumber(c.epoch) * 1000000000 + frac_ns(c.frac) end
    local year = tonumber(c.year) or 1970
    if c.year2 then
        year = tonumber(c.year2)
        year = year + (year < 69 and 2000 or 1900)
    end
    local month = tonumber(c.month) or 1
    if c.mon then month = M.month_number[c.mon] end
    if c.monthname then month = FULL_MONTHS[lower(c.monthname)] end
    local hour = tonumber(c.hour) or 0
    if c.hour12 then
        hour = tonumber(c.hour12) % 12
        if c.ampm and lower(c.ampm) == "pm" then hour = hour + 12 end
    end
    local off = 0
    if c.zone then off = offset_seconds(c.zone) end
    if c.zonename and not ({UTC = true, GMT = true, Z = true})[c.zonename] then off = nil end
    if not month or not off then return nil end
    return time_to_ns(year, month, tonumber(c.day) or 1, hour, tonumber(c.min) or 0,
        tonumber(c.sec) or 0, frac_ns(c.frac), off)
end

local function strftime_format(format)
    if type(format) ~= "string" or format == "" then
        error("the timestamp format must be a non-empty string", 3)
    end
    return (string.gsub(format, "%%([TFDR])", STRFTIME_ALIAS))
end

function M.build_strftime_matcher(format)
    format = strftime_format(format)
    local parts, keys, i = {"^"}, {}, 1
    while i <= #format do
        local c = sub(format, i, i)
        if c == "%" then
            local d = sub(format, i + 1, i + 1)
            if d == "%" then
                parts[#parts + 1] = "%%"
            elseif STRFTIME[d] then
                parts[#parts + 1] = STRFTIME[d][1]
                keys[#keys + 1] = STRFTIME[d][2]
            else
                error("unsupported directive %" .. d .. " in the timestamp format", 2)
            end
            i = i + 2
        else
            parts[#parts + 1] = string.gsub(c, "[%^%$%(%)%%%.%[%]%*%+%-%?]", "%%%0")
            i = i + 1
        end
    end
    parts[#parts + 1] = "$"
    local pattern = table.concat(parts)
    return {
        pattern = pattern,
        match = function(_, text)
            if type(text) ~= "string" then return nil end
            local caps = {match(text, pattern)}
            if caps[1] == nil then return nil end
            local c = {}
            for k, key in ipairs(keys) do c[key] = caps[k] end
            return strftime_ns(c)
        end,
    }
end

------------------------------------------------------------------------
-- LPeg grammars

local P, R, S, C, Cg, Ct, Cmt = lpeg.P, lpeg.R, lpeg.S, lpeg.C, lpeg.Cg, lpeg.Ct, lpeg.Cmt
local digit, alpha = R"09", R("AZ", "az")
local d2, d4 = digit * digit, digit * digit * digit * digit

-- A pattern capturing fn(text) for the text `shape` matches; it fails
-- where fn returns nil.
-- `shape` captured as its time in ns by `fn` (a match-time capture, so a
-- date that does not exist fails the match). The last text converted is
-- remembered here: log lines mostly repeat the previous line's second.
local function converted(shape, fn)
    local last_text, last_ns
    return Cmt(C(shape), function(_, _, text)
        if text == last_text then return true, last_ns end
        local ns = fn(text)
        if ns then
            last_text, last_ns = text, ns
            return true, ns
        end
        return false
    end)
end
M.converted = converted

--- The date shapes as Lua patterns with one capture (loose: the
--- converters check the values).
M.patterns = {
    clf = "(%d%d?/%a%a%a/%d%d%d%d:%d%d:%d%d:%d%d [+-]%d%d%d%d)",
    rfc3339 = "(%d%d%d%d%-%d%d%-%d%d[Tt ]%d%d:%d%d:%d%d[%.%d]*[Zz+-]?[%d:]*)",
    rfc3164 = "(%a%a%a +%d%d? %d%d:%d%d:%d%d)",
    epoch = "(%d+%.?%d*)",
}

--- The text shapes the grammars accept (no captures).
M.shapes = {
    clf = digit * digit^-1 * "/" * alpha * alpha * alpha * "/" * d4 * ":" * d2 * ":" * d2
        * ":" * d2 * " " * S"+-" * d4,
    rfc3339 = d4 * "-" * d2 * "-" * d2 * S"Tt " * d2 * ":" * d2 * ":" * d2 * P"."^-1
        * digit^0 * (S"Zz" + S"+-" * d2 * P":"^-1 * d2)^-1,
    rfc3164 = alpha * alpha * alpha * P" "^1 * digit * digit^-1 * " " * d2 * ":" * d2 * ":"
        * d2,
    epoch = digit^1 * P"."^-1 * digit^0,
}

M.clf_timestamp = converted(M.shapes.clf, M.clf_to_ns)
M.rfc3339 = converted(M.shapes.rfc3339, M.rfc3339_to_ns)
M.rfc3339_wall_clock = converted(M.shapes.rfc3339, function(text)
    return M.rfc3339_to_ns(text, true)
end)
M.rfc3164_timestamp = converted(M.shapes.rfc3164, function(text)
    return M.rfc3164_to_ns(text)
end)
M.epoch_timestamp = converted(M.shapes.epoch, M.epoch_to_ns)

-- The text each strftime directive matches (the capture is its value).
local STRFTIME_LPEG = {
    Y = C(S"+-"^-1 * d4), y = C(d2), m = C(digit * digit^-1), d = C(digit * digit^-1),
    e = P" "^-1 * C(digit * digit^-1), H = C(digit * digit^-1), I = C(digit * digit^-1),
    M = C(d2), S = C(d2), b = C(alpha * alpha * alpha), h = C(alpha * alpha * alpha),
    B = C(alpha^1), p = C(S"AaPp" * S"Mm"), f = C(digit^1), s = C(digit^1),
    z = C(S"Zz+-" * S"0123456789:"^0), Z = C(alpha^1),
}

function M.build_strftime_grammar(format)
    format = strftime_format(format)
    local g, i = P(true), 1
    while i <= #format do
        local c = sub(format, i, i)
        if c == "%" then
            local d = sub(format, i + 1, i + 1)
            if d == "%" then
                g = g * "%"
            elseif STRFTIME_LPEG[d] then
                g = g * Cg(STRFTIME_LPEG[d], STRFTIME[d][2])
            else
                error("unsupported directive %" .. d .. " in the timestamp format", 2)
            end
            i = i + 2
        else
            g = g * c
            i = i + 1
        end
    end
    return Cmt(Ct(g), function(_, _, parts)
        local ns = strftime_ns(parts)
        if ns then return true, ns end
        return false
    end)
end

return M
