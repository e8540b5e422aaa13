-- :TofuHistory [KEY]: the store's audit trail (every pin, replacement, deletion, match and
-- mismatch seen), oldest first, in the CLI's words:
-- `at=…;  event=…;  host=…;  sha256=…;  detail=…`.
local rpc = require('tofu.rpc')
local text = require('tofu.text')
local views = require('tofu.views')
local events = require('tofu.events')

local M = {}

M.NAME = 'tofu://history'

function M.line(event)
  local f = function(key)
    return text.escape(text.field(event, key))
  end
  return string.format(
    'at=%s;  event=%s;  host=%s;  sha256=%s;  detail=%s',
    f('at'),
    f('event'),
    f('host'),
    f('sha256Fingerprint'),
    f('detail')
  )
end

local function fill(buf, key)
  local params = { limit = 100000 }
  if key then
    params.host = key
  end
  rpc.request('certHistory', params, function(err, result)
    if not vim.api.nvim_buf_is_valid(buf) then
      return
    end
    if err then
      text.notify('reading the history failed: ' .. text.error_message(err), vim.log.levels.ERROR)
    else
      local lines = {}
      for i, event in ipairs(text.field(result, 'events') or {}) do
        lines[i] = M.line(event)
      end
      views.set_lines(buf, lines)
      if #lines == 0 then
        text.notify(key and ('no events for ' .. text.escape(key)) or 'the history is empty')
      end
      -- The most recent event last, and in view.
      local win = vim.fn.bufwinid(buf)
      if win ~= -1 and #lines > 0 then
        vim.api.nvim_win_set_cursor(win, { #lines, 0 })
      end
    end
    events.emit('TofuHistoryShown')
  end)
end

--- :TofuHistory [KEY]
function M.open(key)
  local name = key and (M.NAME .. '/' .. key) or M.NAME
  local buf = views.buffer(name)
  views.map(buf, 'r', function()
    fill(buf, key)
  end, 'tofu: read the history again')
  views.map(buf, 'q', views.close, 'tofu: close')
  views.show(buf, false)
  fill(buf, key)
end

return M
