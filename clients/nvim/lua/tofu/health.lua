-- :checkhealth tofu: tofu-rpc found and answering, its version, the store reachable.
local config = require('tofu.config')
local rpc = require('tofu.rpc')
local text = require('tofu.text')

local M = {}

-- vim.health.start/ok/… since Neovim 0.9, report_* in 0.8, the health#report_* functions in 0.7.
local function reporter()
  local health = vim.health or {}
  local function pick(new, old)
    return health[new] or health[old] or function(...)
      return vim.fn['health#' .. old](...)
    end
  end
  return {
    start = pick('start', 'report_start'),
    ok = pick('ok', 'report_ok'),
    info = pick('info', 'report_info'),
    warn = pick('warn', 'report_warn'),
    error = pick('error', 'report_error'),
  }
end

function M.check()
  local report = reporter()
  report.start('tofu')
  local version = vim.version()
  local nvim = string.format('%d.%d.%d', version.major, version.minor, version.patch)
  if vim.fn.has('nvim-0.7') == 1 then
    report.ok('Neovim ' .. nvim)
  else
    report.error('Neovim ' .. nvim .. ' is too old', { 'tofu.nvim needs Neovim 0.7 or newer' })
  end

  local path, origin = config.server_path()
  if not path then
    report.error(origin, {
      'build it: make (in the tofu repository) puts tofu-rpc in .build/debug/',
      'then: require("tofu").setup{ cmd = "/path/to/tofu-rpc" }, or export TOFU_RPC',
    })
    return
  end
  report.ok(string.format('tofu-rpc found: %s (from %s)', path, origin))

  local status = rpc.status()
  if status.last_exit then
    local exit = status.last_exit
    if exit.broken then
      report.warn('an earlier tofu-rpc of this Neovim: ' .. exit.broken)
    else
      report.warn(string.format(
        'an earlier tofu-rpc of this Neovim ended: %s%s',
        exit.signal and exit.signal ~= 0 and ('killed by signal ' .. exit.signal) or ('status ' .. tostring(exit.code)),
        exit.stderr and (': ' .. exit.stderr) or ''
      ))
    end
  end

  local err, document = rpc.request_sync('rpc.discover', nil, config.options.sync_timeout_ms)
  if err then
    report.error('tofu-rpc does not answer: ' .. text.error_message(err), {
      'run it by hand: ' .. path .. ' --help',
      'the LSP log may say more: ' .. vim.lsp.get_log_path(),
    })
    return
  end
  local info = text.field(document, 'info') or {}
  report.ok(string.format(
    'tofu-rpc answers: %s %s (pid %s)',
    text.escape(text.field(info, 'title') or 'tofu'),
    text.escape(text.field(info, 'version') or '?'),
    tostring(rpc.pid() or '?')
  ))

  local store, store_origin = config.store_description()
  local store_err, listing = rpc.request_sync('listCerts', { limit = 1 }, config.options.sync_timeout_ms)
  if store_err then
    report.error(string.format('the pin store %s (%s) is unavailable: %s', text.escape(store), store_origin, text.error_message(store_err)), {
      'choose another store with require("tofu").setup{ store = "/path/to/store.sqlite" } or $TOFU_STORE',
    })
    return
  end
  local some = #(text.field(listing, 'certs') or {}) > 0
  report.ok(string.format('the pin store is reachable: %s (%s)%s', text.escape(store), store_origin, some and '' or ', no pins yet'))
end

return M
