--[[
access_log_decoder: the `process_message` shared by the nginx_access and
apache_access decoders, which differ only in how a `log_format` becomes a
parser. Reads the decoder options documented in those scripts
(log_format, type, user_agent_transform, user_agent_keep,
user_agent_conditional, payload_keep, grammar).

- new(builders, default_format) -> process_message
    `builders` maps a `grammar` option ("lpeg", the default, or "pattern")
    to a function taking the log format and returning an object with
    `:match(line)`, which gives a table of typed fields (`time`, if
    present, becomes the Timestamp) or nil. `default_format` is used when `log_format` is not
    set. Errors at load time when `grammar` names no builder.
--]]

local clf = require "common_log_format"

local read_config, read_message, inject_message = read_config, read_message, inject_message
local error = error

local M = {}

function M.new(builders, default_format)
    local grammar_name = read_config("grammar") or "lpeg"
    local build = builders[grammar_name]
    if not build then error('grammar must be "lpeg" or "pattern"') end
    local grammar = build(read_config("log_format") or default_format)
    local normalize = clf.normalize_user_agent

    local ua_transform = read_config("user_agent_transform")
    local ua_keep = read_config("user_agent_keep")
    local ua_conditional = read_config("user_agent_conditional")
    local payload_keep = read_config("payload_keep")

    local msg = {Type = read_config("type")}

    return function()
        local line = read_message("Payload")
        local fields = grammar:match(line)
        if not fields then return -1 end
        msg.Timestamp = fields.time
        fields.time = nil
        if payload_keep then msg.Payload = line end
        if ua_transform then
            local ua = fields.http_user_agent
            if ua then
                local browser, version, os = normalize(ua)
                fields.user_agent_browser = browser
                fields.user_agent_version = version
                fields.user_agent_os = os
                if not (ua_keep or (ua_conditional and not (browser or version or os))) then
                    fields.http_user_agent = nil
                end
            end
        end
        msg.Fields = fields
        inject_message(msg)
        return 0
    end
end

return M
