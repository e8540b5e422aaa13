-- One tofu-rpc per Neovim, spoken to through Neovim's own JSON-RPC client (vim.lsp.rpc,
-- Content-Length framing). Started on the first call, stopped when Neovim exits, started again
-- on the next call after it died. Every call gets exactly one answer: tofu-rpc's, or an error
-- of ours when tofu-rpc exits first or writes what is not JSON-RPC (it is stopped then), so
-- nothing ever waits for an answer that cannot come. (Out of reach: Neovim 0.7's vim.lsp.rpc
-- raises inside its own read callback on a header it cannot parse or a body that is not a JSON
-- object, and says nothing to its dispatchers; :lua require('tofu').restart() recovers.)
local config = require('tofu.config')
local text = require('tofu.text')

local M = {}

--- Error kinds of the plugin's own (tofu-rpc's are in its answers' data.kind).
M.NOT_STARTED = 'serverNotStarted'
M.EXITED = 'serverExited'
M.TIMEOUT = 'timeout'
M.CANCELLED = 'cancelled'
M.NOT_UTF8 = 'notUtf8'

local state = {
  server = nil, -- the running tofu-rpc: { client, pending, stderr_path, pid_path, pid, stopping, path, origin }
  progress = {}, -- $/progress handlers by token
  last_exit = nil, -- how the last tofu-rpc ended, for :checkhealth
}

-- vim.lsp.rpc.start took (cmd, args, dispatchers, extra) up to Neovim 0.9, ({cmd, args...},
-- dispatchers, extra) since 0.10: the number of parameters tells which.
-- `environment` (or nil) is added to Neovim's own for the process.
local function start_client(argv, dispatchers, environment)
  local start = vim.lsp.rpc.start
  local info = debug.getinfo(start, 'u')
  local new_signature
  if info and info.nparams then
    new_signature = info.nparams < 4
  else
    new_signature = vim.fn.has('nvim-0.10') == 1
  end
  local extra = environment and { env = environment } or nil
  if new_signature then
    return start(argv, dispatchers, extra)
  end
  return start(argv[1], vim.list_slice(argv, 2), dispatchers, extra)
end

-- The last lines tofu-rpc wrote on stderr, escaped, or nil.
local function stderr_tail(path)
  if not path or vim.fn.filereadable(path) ~= 1 then
    return nil
  end
  local lines = vim.fn.readfile(path, '', -4)
  local kept = {}
  for _, line in ipairs(lines) do
    if line:match('%S') then
      kept[#kept + 1] = text.escape(line)
    end
  end
  if #kept == 0 then
    return nil
  end
  return table.concat(kept, ' | ')
end

local function make_error(kind, message, code)
  return { code = code or -32099, message = message, data = { kind = kind }, kind = kind }
end

-- An answer's error as the plugin hands it on: code, message, data, and data.kind as kind.
local function normalize_error(err)
  if err == nil or err == vim.NIL then
    return nil
  end
  if type(err) ~= 'table' then
    return make_error('internal', tostring(err))
  end
  local data = text.value(err.data)
  return {
    code = err.code,
    message = text.value(err.message) or ('error ' .. tostring(err.code)),
    data = type(data) == 'table' and data or {},
    kind = type(data) == 'table' and text.value(data.kind) or nil,
  }
end

local function describe_exit(code, signal)
  if signal and signal ~= 0 then
    return string.format('was killed by signal %d', signal)
  end
  return string.format('exited with status %d', code or -1)
end

-- Ends a tofu-rpc process: vim.lsp.rpc's own way where it has one (Neovim 0.10), SIGTERM else.
local function terminate(client)
  if client.terminate then
    client.terminate()
  elseif client.handle and not client.handle:is_closing() then
    client.handle:kill(15)
  end
end

-- A tofu-rpc ended: every call it had not answered ends with why, and the next command
-- starts another.
local function on_exit(server, code, signal)
  local tail = stderr_tail(server.stderr_path)
  os.remove(server.stderr_path)
  os.remove(server.pid_path)
  if state.server == server then
    state.server = nil
  end
  local pending = server.pending
  server.pending = {}
  if server.broken then
    local why = string.format('tofu-rpc (%s) wrote %s, so none of its answers can be trusted: it was stopped', server.path, server.broken)
    state.last_exit = { code = code, signal = signal, stderr = tail, at = os.time(), broken = why }
    local count = vim.tbl_count(pending)
    for call in pairs(pending) do
      call.finish(make_error(M.EXITED, string.format('%s before it answered %s. The next command starts it again.', why, call.method)))
    end
    if count == 0 then
      text.notify(why .. '. The next command starts it again.', vim.log.levels.WARN)
    end
    return
  end
  if server.stopping then
    for call in pairs(pending) do
      call.finish(make_error(M.EXITED, 'tofu-rpc was stopped before it answered ' .. call.method))
    end
    return
  end
  state.last_exit = { code = code, signal = signal, stderr = tail, at = os.time() }
  local how = 'tofu-rpc ' .. describe_exit(code, signal)
  local said = tail and (' Its last words: ' .. tail) or ''
  if not tail and (not signal or signal == 0) then
    -- Ended by itself, without a word on stderr: most often `cmd` is not tofu-rpc (the tofu
    -- CLI prints its help on stdout and exits).
    said = string.format(' It said nothing on stderr: is %s (from %s) tofu-rpc?', server.path, server.origin)
  end
  local count = vim.tbl_count(pending)
  for call in pairs(pending) do
    call.finish(make_error(M.EXITED, string.format('%s before it answered %s.%s The next command starts it again.', how, call.method, said)))
  end
  if count == 0 then
    text.notify(how .. '.' .. said .. ' The next command starts it again.', vim.log.levels.WARN)
  end
end

-- What a message vim.lsp.rpc could not take as an answer or a notification was, in words
-- (tofu-rpc's own message, escaped, when it is an error that names no request).
local function describe_invalid(message)
  local err = type(message) == 'table' and text.value(message.error) or nil
  if type(err) == 'table' then
    return 'an error that names no request (' .. text.brief(text.value(err.message) or ('code ' .. tostring(text.value(err.code)))) .. ')'
  end
  return 'a message that is neither an answer nor a notification'
end

-- vim.lsp.rpc met something on tofu-rpc's stdout it cannot use: an answer it cannot match to a
-- call would never come, so tofu-rpc is stopped and every call it had ends with why.
local function broken(server, what)
  if server.broken or server.stopping then
    return
  end
  server.broken = what
  if state.server == server then
    state.server = nil
  end
  terminate(server.client)
end

--- The running tofu-rpc, started if need be; nil and a message when it cannot be started.
local function ensure()
  if state.server then
    return state.server
  end
  local path, origin = config.server_path()
  if not path then
    return nil, origin
  end
  local base = vim.fn.tempname()
  local server = { pending = {}, stderr_path = base .. '.stderr', pid_path = base .. '.pid', path = path, origin = origin }
  -- tofu-rpc's stderr into a file of ours, so that a tofu-rpc that dies can be reported with
  -- what it said (vim.lsp.rpc only logs it); and its pid, which vim.lsp.rpc stopped telling
  -- in Neovim 0.10. The shell execs tofu-rpc: same process, same pid.
  local argv = {
    '/bin/sh',
    '-c',
    'e=$1; p=$2; shift 2; echo $$ >"$p"; exec "$@" 2>>"$e"',
    'tofu-rpc',
    server.stderr_path,
    server.pid_path,
    path,
  }
  local arguments, environment = config.server_arguments()
  vim.list_extend(argv, arguments)
  local dispatchers = {
    notification = function(method, params)
      if method == '$/progress' and type(params) == 'table' then
        local handler = state.progress[params.token]
        if handler then
          handler(text.value(params.value))
        end
      end
    end,
    on_exit = function(code, signal)
      vim.schedule(function()
        on_exit(server, code, signal)
      end)
    end,
    on_error = function(code, detail)
      local errors = vim.lsp.rpc.client_errors
      local what
      if code == errors.INVALID_SERVER_JSON then
        what = 'something that is not JSON on its stdout'
      elseif code == errors.INVALID_SERVER_MESSAGE then
        what = describe_invalid(detail)
      else
        return
      end
      vim.schedule(function()
        if server.client then
          broken(server, what)
        end
      end)
    end,
  }
  -- Neovim's LSP log records the process's environment at INFO: held at WARN or above while
  -- it starts when that environment holds a password.
  local log = environment and require('vim.lsp.log') or nil
  local level = log and log.get_level and log.get_level() or nil
  local lowered = type(level) == 'number' and level < log.levels.WARN
  if lowered then
    log.set_level(log.levels.WARN)
  end
  local ok, client = pcall(start_client, argv, dispatchers, environment)
  if lowered then
    log.set_level(level)
  end
  if not ok or not client then
    os.remove(server.stderr_path)
    os.remove(server.pid_path)
    return nil, string.format('could not start %s (%s): %s', path, origin, ok and 'spawn failed' or tostring(client))
  end
  server.client = client
  state.server = server
  return server
end

-- Where in `value` (a request's params) a string that is not UTF-8 is, as a path of keys
-- (`host`, `password`), or nil. The path names the field, never what it holds.
local function non_utf8_field(value, path)
  if type(value) == 'string' then
    return not text.is_utf8(value) and (path or 'text') or nil
  end
  if type(value) == 'table' and value ~= vim.NIL then
    for key, item in pairs(value) do
      local name = type(key) == 'string' and key or tostring(key)
      local found = non_utf8_field(item, path and (path .. '.' .. name) or name)
      if found then
        return found
      end
    end
  end
  return nil
end

--- Sends `method` with `params` (a table with keys, or nil); `callback(err, result)` runs once,
--- on the main loop, with tofu-rpc's answer or an error of ours (kind serverNotStarted,
--- serverExited, cancelled, notUtf8). Returns a handle whose cancel() sends $/cancelRequest, or nil
--- when nothing could be sent.
function M.request(method, params, callback)
  local invalid = non_utf8_field(params, nil)
  if invalid then
    vim.schedule(function()
      callback(make_error(M.NOT_UTF8, string.format(
        '%s was not sent: the %s holds bytes that are not UTF-8, which JSON cannot carry. Type it again.',
        method,
        invalid
      )))
    end)
    return nil
  end
  local call = { method = method, done = false }
  local server, why = ensure()
  call.finish = function(err, result)
    if call.done then
      return
    end
    call.done = true
    if server then
      server.pending[call] = nil
    end
    callback(err, result)
  end
  if not server then
    vim.schedule(function()
      call.finish(make_error(M.NOT_STARTED, why))
    end)
    return nil
  end
  local client = server.client
  local ok, id = client.request(method, params, function(err, result)
    call.finish(normalize_error(err), text.value(result))
  end, function()
    -- Called just before the answer's own callback; vim.lsp.rpc never calls that one for a
    -- -32800 (cancelled) answer, so a call still open after it was cancelled.
    vim.schedule(function()
      call.finish(make_error(M.CANCELLED, method .. ' was cancelled', -32800))
    end)
  end)
  if not ok then
    vim.schedule(function()
      call.finish(make_error(M.EXITED, 'tofu-rpc is not running (it exited); the next command starts it again'))
    end)
    return nil
  end
  server.pending[call] = true
  return {
    id = id,
    cancel = function()
      if not call.done then
        client.notify('$/cancelRequest', { id = id })
      end
    end,
    done = function()
      return call.done
    end,
  }
end

--- The same, waiting for the answer up to `timeout_ms` (default: setup's sync_timeout_ms).
--- Returns err, result; err.kind is 'timeout' when tofu-rpc did not answer in time.
function M.request_sync(method, params, timeout_ms)
  timeout_ms = timeout_ms or config.options.sync_timeout_ms
  local answered, answer_err, answer_result = false, nil, nil
  local handle = M.request(method, params, function(err, result)
    answered, answer_err, answer_result = true, err, result
  end)
  vim.wait(timeout_ms, function()
    return answered
  end, 10)
  if not answered then
    if handle then
      handle.cancel()
    end
    return make_error(M.TIMEOUT, string.format('tofu-rpc did not answer %s within %d ms', method, timeout_ms))
  end
  return answer_err, answer_result
end

--- Routes $/progress notifications with `token` to `handler(value)` (nil: stop routing them).
function M.on_progress(token, handler)
  state.progress[token] = handler
end

--- The process id of the running tofu-rpc, or nil when none runs.
function M.pid()
  local server = state.server
  if not server then
    return nil
  end
  if not server.pid then
    server.pid = server.client.pid
  end
  if not server.pid then
    -- Written by the shell before it execs tofu-rpc, which may not have happened yet.
    vim.wait(1000, function()
      return vim.fn.filereadable(server.pid_path) == 1 and #vim.fn.readfile(server.pid_path) > 0
    end, 5)
    local lines = vim.fn.filereadable(server.pid_path) == 1 and vim.fn.readfile(server.pid_path) or {}
    server.pid = tonumber(lines[1])
  end
  return server.pid
end

--- Whether a tofu-rpc runs, which one, and how the last one ended.
function M.status()
  local server = state.server
  return {
    running = server ~= nil,
    path = server and server.path,
    origin = server and server.origin,
    last_exit = state.last_exit,
  }
end

--- Stops tofu-rpc as LSP has it: shutdown (waited for up to `wait_ms`), then exit. Its calls in
--- flight answer -32800; it ends once it has flushed its answers. The next call starts another.
function M.stop(wait_ms)
  local server = state.server
  if not server then
    return
  end
  state.server = nil
  server.stopping = true
  local client = server.client
  local answered = false
  local ok = client.request('shutdown', nil, function()
    answered = true
  end)
  if ok then
    vim.wait(wait_ms or 1000, function()
      return answered
    end, 10)
  end
  client.notify('exit', nil)
  if not answered then
    -- A tofu-rpc that does not even answer shutdown is ended by force.
    terminate(client)
  end
end

return M
