-- shdict_runner.lua: the nginx side of the shdict script test
-- (tests/shdict_real.sh).  A content handler that reads a script of
-- dict commands from the request body (POST) and runs them in order
-- against ngx.shared[DICT] (DICT from the `dict` argument of the URL),
-- printing for each command the JSON line that `shmbench shdict` prints
-- for it.  The grammar and the fields of each line are docs/shdict.md's
-- section "Scripts"; this file follows it and must print byte for byte
-- what bench/cmd_shdict.c prints, so its formatting is as plain as the C
-- side's: integers with %d, the key escaped as cli_json_string escapes.
--
-- The script is trusted: `shmbench shdict` checks it first (the test runs
-- it there before it is posted here), so a line this runner cannot read
-- only ends the request with an error.  One request runs a whole script
-- in one worker, without yielding except in `sleep`, so nothing else
-- touches the dict meanwhile; `sleep S` is ngx.sleep(S) and then
-- ngx.update_time(), so that the next command sees the time that passed.

local dict_name = ngx.var.arg_dict or "d"
local dict = ngx.shared[dict_name]
if dict == nil then
    ngx.status = 404
    ngx.say("no lua_shared_dict \"", dict_name, "\"")
    return
end

ngx.req.read_body()
local body = ngx.req.get_body_data()
if body == nil then
    local path = ngx.req.get_body_file()
    if path ~= nil then
        local f = assert(io.open(path, "rb"))
        body = f:read("*a")
        f:close()
    end
end
body = body or ""

-- VLEN bytes of the filler the C side writes (workloads/shdict.c's
-- put_bytes: 'a' + i % 26); only the length is compared, but the bytes
-- are the same.
local alphabet = "abcdefghijklmnopqrstuvwxyz"
local function filler(n)
    return string.rep(alphabet, math.floor(n / 26) + 1):sub(1, n)
end

-- cli_json_string's escapes: '"' and '\' by a backslash, control bytes
-- and DEL as \u00XX.
local function json_string(s)
    if s == nil then
        return "null"
    end
    s = s:gsub('[%c"\\\127]', function (c)
        if c == '"' or c == '\\' then
            return '\\' .. c
        end
        return string.format("\\u%04x", c:byte())
    end)
    return '"' .. s .. '"'
end

local function json_bool(b)
    return b and "true" or "false"
end

local function json_int(n)
    if n == nil then
        return "null"
    end
    return string.format("%d", n)
end

-- A value's stored length, as the C side reports it: a string's bytes, a
-- number's 8 (the dict stores a double).
local function vlen_of(v)
    if type(v) == "string" then
        return #v
    elseif type(v) == "number" then
        return 8
    end
    return nil
end

local stores = {
    set = true, safe_set = true, add = true, safe_add = true, replace = true,
}

-- Run one command; returns ok, err, forcible and the extra fields' text
-- (starting with a comma, or "").
local function run(op, a)
    if stores[op] then
        local exptime = a[3] and tonumber(a[3]) or 0
        local ok, err, forcible = dict[op](dict, a[1], filler(tonumber(a[2])),
                                           exptime)
        return ok == true, err, forcible == true, ""
    elseif op == "delete" then
        local ok, err = dict:delete(a[1])
        return ok == true, err, false, ""
    elseif op == "get" then
        -- no flags are ever set, so a found value comes alone
        local v, err = dict:get(a[1])
        return err == nil, err, false,
               ',"found":' .. json_bool(v ~= nil) .. ',"vlen":' .. json_int(vlen_of(v))
    elseif op == "incr" then
        local init = a[3] and tonumber(a[3]) or nil
        local v, err, forcible = dict:incr(a[1], tonumber(a[2]), init)
        return v ~= nil, err, forcible == true, ',"value":' .. json_int(v)
    elseif op == "lpush" or op == "rpush" then
        -- the new length, or nil (no element) or false (no head) and err
        local n, err = dict[op](dict, a[1], filler(tonumber(a[2])))
        local len = type(n) == "number" and n or nil
        return len ~= nil, err, false, ',"len":' .. json_int(len)
    elseif op == "lpop" or op == "rpop" then
        local v, err = dict[op](dict, a[1])
        return err == nil, err, false,
               ',"found":' .. json_bool(v ~= nil) .. ',"vlen":' .. json_int(vlen_of(v))
    elseif op == "flush_all" then
        dict:flush_all()
        return true, nil, false, ""
    elseif op == "flush_expired" then
        local n = dict:flush_expired(a[1] and tonumber(a[1]) or 0)
        return true, nil, false, ',"flushed":' .. json_int(n)
    elseif op == "sleep" then
        ngx.sleep(tonumber(a[1]))
        ngx.update_time()
        return true, nil, false, ""
    end
    error("unknown command '" .. op .. "'")
end

local keyed = {
    set = true, safe_set = true, add = true, safe_add = true, replace = true,
    incr = true, get = true, delete = true, lpush = true, rpush = true,
    lpop = true, rpop = true,
}

local out = {}
local lineno = 0
for line in (body .. "\n"):gmatch("([^\n]*)\n") do
    lineno = lineno + 1
    local words = {}
    for w in line:gmatch("[^ \t\r\f\v]+") do
        words[#words + 1] = w
    end
    if #words > 0 and words[1]:sub(1, 1) ~= "#" then
        local op = table.remove(words, 1)
        local ok, err, forcible, extra = run(op, words)
        out[#out + 1] = '{"line":' .. lineno
            .. ',"op":' .. json_string(op)
            .. ',"key":' .. (keyed[op] and json_string(words[1]) or "null")
            .. ',"ok":' .. json_bool(ok)
            .. ',"err":' .. json_string(err)
            .. ',"forcible":' .. json_bool(forcible)
            .. ',"free_space":' .. json_int(dict:free_space())
            .. ',"keys":' .. json_int(#dict:get_keys(0))
            .. extra .. '}\n'
    end
end
ngx.print(table.concat(out))
