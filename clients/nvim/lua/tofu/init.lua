-- tofu.nvim: the tofu certificate pin store in Neovim, over one tofu-rpc spoken to with
-- Neovim's own JSON-RPC client. The commands are defined in plugin/tofu.lua; :help tofu.
local config = require('tofu.config')
local text = require('tofu.text')

local M = {}

--- Settings: cmd (the tofu-rpc), store, args, timeout_ms, concurrency, sync_timeout_ms.
--- Takes effect at the next start of tofu-rpc (M.restart() applies it at once).
function M.setup(options)
  config.setup(options)
end

--- The host key a command without KEY means: the pin on the cursor's line of :TofuList, or
--- the pin of a details buffer; nil elsewhere.
function M.key_here()
  local name = vim.api.nvim_buf_get_name(0)
  local list = require('tofu.list')
  if name == list.LIST_NAME then
    local pin = list.pin_at_cursor()
    return pin and text.field(pin, 'host') or nil
  end
  if name:sub(1, #list.PIN_PREFIX) == list.PIN_PREFIX then
    return name:sub(#list.PIN_PREFIX + 1)
  end
  return nil
end

local function key_or_here(key, usage)
  if key ~= nil and key ~= '' then
    return key
  end
  local here = M.key_here()
  if not here then
    text.notify('give a host key, e.g. ' .. usage, vim.log.levels.ERROR)
  end
  return here
end

function M.list()
  require('tofu.list').open()
end

--- :TofuVerify [KEY], :TofuVerify! (every pin)
function M.verify(key, all)
  if all then
    if key ~= nil and key ~= '' then
      text.notify(':TofuVerify! verifies every pin and takes no host key', vim.log.levels.ERROR)
      return
    end
    return require('tofu.verify').all()
  end
  key = key_or_here(key, ':TofuVerify 192.0.2.10_443 (or :TofuVerify! for every pin)')
  if key then
    require('tofu.verify').one(key)
  end
end

--- <C-c> in tofu://verify does the same.
function M.cancel()
  require('tofu.verify').cancel()
end

function M.history(key)
  if key == '' then
    key = nil
  end
  require('tofu.history').open(key)
end

function M.add_dnac(server)
  require('tofu.dnac').add(server)
end

function M.pin(key, stage)
  if key == nil or key == '' then
    text.notify('give the host key to pin, e.g. :TofuPin 192.0.2.10_443', vim.log.levels.ERROR)
    return
  end
  require('tofu.pin').pin(key, stage)
end

--- Stops tofu-rpc; the next command starts it again, with the current settings.
function M.restart()
  require('tofu.rpc').stop(1000)
end

--- Completion of host keys from the store.
function M.complete_keys(lead)
  local err, result = require('tofu.rpc').request_sync('listCerts', { limit = 1000 }, 2000)
  if err then
    return {}
  end
  local keys = {}
  for _, pin in ipairs(text.field(result, 'certs') or {}) do
    local host = text.field(pin, 'host')
    if host and host:sub(1, #lead) == lead then
      keys[#keys + 1] = host
    end
  end
  return keys
end

return M
